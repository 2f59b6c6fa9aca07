"""An independent WebSocket client (Python's websockets) for the balancer's black-box tests.

Usage: ws_client.py URL. Prints one line per check; exits 0 only when all passed.
"""
import asyncio
import os
import sys

import websockets


async def main(url):
    async with websockets.connect(url, subprotocols=["chat", "moosicbox.v2"], max_size=None,
                                  open_timeout=10, close_timeout=10) as ws:
        assert ws.subprotocol == "moosicbox.v2", ws.subprotocol
        print("subprotocol", ws.subprotocol)
        await ws.send("hello from python")
        echo = await asyncio.wait_for(ws.recv(), 10)
        assert echo == "hello from python", echo
        print("text echo ok")
        payload = os.urandom(4 << 20)
        await ws.send(payload)
        echo = await asyncio.wait_for(ws.recv(), 20)
        assert echo == payload, "binary echo differs"
        print("binary echo ok", len(echo))
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        print("ping answered")
        await ws.close(code=4000, reason="python bye")
        print("closed", ws.close_code, ws.close_reason)


asyncio.run(asyncio.wait_for(main(sys.argv[1]), 60))
