"""The `socketio` peer: a small python-socketio (aiohttp) server shaped like the
queue-management service an Artillery suite tested. Run by `peers/start socketio`.

Events (namespace "/" and "/queue" alike):
  join {"room": R}            enter room R; ack {"joined": R, "members": N}
  take_ticket {"queue": Q}    ack {"queue": Q, "ticket": T}; pushes "queue_update"
                              {"queue": Q, "waiting": N} to room Q
  call_next {"queue": Q}      pushes "ticket_called" {"queue": Q, "ticket": T} to room Q;
                              ack {"called": T or null}
  echo ARGS...                ack with the same arguments
  push_me {"event": E, "data": D, "delay_ms": MS}
                              after MS (default 0, at most 10000) pushes event E with D to
                              the sender alone; ack {"scheduled": E}
  kick                        the server disconnects the sender (no ack)
  blob {"name": N, "data": BYTES}
                              a binary upload: ack {"name": N, "size": len, "sum": byte sum
                              mod 2**32} and the bytes reversed (a binary ack)
  blob_push {"size": S, "event": E}
                              pushes event E (default "blob") to the sender: {"size": S,
                              "data": S bytes i % 251, "tail": b"end"} (a binary event with
                              two attachments); ack {"scheduled": E}
  bad_binary {"mode": M}      sends the sender a malformed binary event "bad": M "short"
                              announces 2 attachments and sends 1 then a text event,
                              "num" refers to attachment 5 of 1, "many" announces 2000
                              attachments and sends none, "stray" sends a binary frame no
                              packet announced; ack {"sent": M}
Connect with auth {"token": "..."}: a token "deny" is refused (a connect error).
Environment: SOCKETIO_PING_INTERVAL / SOCKETIO_PING_TIMEOUT in seconds (default 25 / 20).
"""

import argparse
import asyncio
import os

import socketio
from aiohttp import web

sio = socketio.AsyncServer(
    async_mode="aiohttp",
    cors_allowed_origins=[],
    ping_interval=float(os.environ.get("SOCKETIO_PING_INTERVAL", "25")),
    ping_timeout=float(os.environ.get("SOCKETIO_PING_TIMEOUT", "20")),
    transports=["websocket", "polling"],
)
app = web.Application()
sio.attach(app)

state = {"tickets": {}, "called": {}}


def handlers(namespace):
    @sio.on("connect", namespace=namespace)
    async def connect(sid, environ, auth=None):
        if isinstance(auth, dict) and auth.get("token") == "deny":
            raise socketio.exceptions.ConnectionRefusedError("token refused")

    @sio.on("join", namespace=namespace)
    async def join(sid, data):
        room = str((data or {}).get("room", "lobby"))
        await sio.enter_room(sid, room, namespace=namespace)
        members = len(list(sio.manager.get_participants(namespace, room)))
        return {"joined": room, "members": members}

    @sio.on("take_ticket", namespace=namespace)
    async def take_ticket(sid, data):
        queue = str((data or {}).get("queue", "main"))
        ticket = state["tickets"].get(queue, 0) + 1
        state["tickets"][queue] = ticket
        waiting = ticket - state["called"].get(queue, 0)
        await sio.emit("queue_update", {"queue": queue, "waiting": waiting}, room=queue, namespace=namespace)
        return {"queue": queue, "ticket": ticket}

    @sio.on("call_next", namespace=namespace)
    async def call_next(sid, data):
        queue = str((data or {}).get("queue", "main"))
        called = state["called"].get(queue, 0)
        if called >= state["tickets"].get(queue, 0):
            return {"called": None}
        called += 1
        state["called"][queue] = called
        await sio.emit("ticket_called", {"queue": queue, "ticket": called}, room=queue, namespace=namespace)
        return {"called": called}

    @sio.on("echo", namespace=namespace)
    async def echo(sid, *args):
        return args

    @sio.on("push_me", namespace=namespace)
    async def push_me(sid, data):
        data = data or {}
        event = str(data.get("event", "pushed"))
        delay = min(max(int(data.get("delay_ms", 0)), 0), 10000) / 1000.0

        async def later():
            await asyncio.sleep(delay)
            await sio.emit(event, data.get("data"), to=sid, namespace=namespace)

        asyncio.get_running_loop().create_task(later())
        return {"scheduled": event}

    @sio.on("blob", namespace=namespace)
    async def blob(sid, data):
        data = data if isinstance(data, dict) else {}
        raw = data.get("data")
        if not isinstance(raw, (bytes, bytearray)):
            return {"error": "data is not binary"}
        return {"name": data.get("name"), "size": len(raw), "sum": sum(raw) % 2**32}, bytes(reversed(raw))

    @sio.on("blob_push", namespace=namespace)
    async def blob_push(sid, data):
        data = data or {}
        size = min(max(int(data.get("size", 16)), 0), 1 << 20)
        event = str(data.get("event", "blob"))
        payload = {"size": size, "data": bytes(i % 251 for i in range(size)), "tail": b"end"}
        await sio.emit(event, payload, to=sid, namespace=namespace)
        return {"scheduled": event}

    @sio.on("bad_binary", namespace=namespace)
    async def bad_binary(sid, data):
        mode = str((data or {}).get("mode", "short"))
        eio_sid = sio.manager.eio_sid_from_sid(sid, namespace)
        nsp = "" if namespace == "/" else namespace + ","
        if mode == "short":
            await sio.eio.send(eio_sid, '52-' + nsp + '["bad",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
            await sio.eio.send(eio_sid, b"one")
            await sio.eio.send(eio_sid, '2' + nsp + '["after_bad",1]')
        elif mode == "many":
            await sio.eio.send(eio_sid, '52000-' + nsp + '["bad",{"_placeholder":true,"num":0}]')
        elif mode == "num":
            await sio.eio.send(eio_sid, '51-' + nsp + '["bad",{"_placeholder":true,"num":5}]')
            await sio.eio.send(eio_sid, b"one")
        else:
            await sio.eio.send(eio_sid, b"stray")
        return {"sent": mode}

    @sio.on("kick", namespace=namespace)
    async def kick(sid, *args):
        await sio.disconnect(sid, namespace=namespace)


for ns in ("/", "/queue"):
    handlers(ns)


async def health(request):
    return web.json_response({"status": "ok"})


app.router.add_get("/health", health)

if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    a = p.parse_args()
    web.run_app(app, host=a.host, port=a.port, print=None, access_log=None)
