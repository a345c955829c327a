"""kpibot's Telegram transport (``bot.telegram.request.AiohttpRequest``) against the fake Bot API:
what PTB means to send arrives as sent, whatever the text holds, and files still go as
multipart (issue 16: the form is encoded once, as bytes, not through aiohttp's FormData)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import ApplicationBuilder

from bot.telegram.request import AiohttpRequest
from tests.fakes.telegram_api import TOKEN, FakeTelegram, keyboard_of, png

TRICKY = "王小红 & R&D = 100% + <b>bold?</b> a=1&b=2 #1 ✓ 🎉\nline two; 'quoted' \"too\""


async def test_text_and_buttons_arrive_exactly_as_ptb_sends_them() -> None:
    async with FakeTelegram() as fake:
        fake.user(42, "Wang")
        application = (
            ApplicationBuilder().token(TOKEN).base_url(fake.base_url).request(AiohttpRequest()).build()
        )  # fmt: skip
        await application.initialize()
        try:
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton("同意 & ok", callback_data="a:1&b=2")]]
            )
            sent = await application.bot.send_message(42, TRICKY, reply_markup=markup)
            photo = await application.bot.send_photo(42, png(), caption=TRICKY)
        finally:
            await application.shutdown()
        [call] = fake.calls_to("sendMessage")
        assert call.params["text"] == TRICKY
        assert call.params["chat_id"] == 42
        assert keyboard_of(call.params["reply_markup"]) == [[("同意 & ok", "a:1&b=2")]]
        assert sent.text == TRICKY and sent.chat_id == 42
        [upload] = fake.calls_to("sendPhoto")
        assert upload.params["caption"] == TRICKY and upload.files, "a file still goes as multipart"
        assert photo.caption == TRICKY
