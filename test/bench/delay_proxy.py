#!/usr/bin/env python3
"""test/bench/delay_proxy.py: a TCP proxy on 127.0.0.1 that holds every chunk
it forwards, in each direction, for a fixed one-way delay: a stand-in for a
network between a client and PostgreSQL where netem is not available.

Usage: delay_proxy.py LISTEN_PORT TARGET_PORT ONE_WAY_MS MAX_SECONDS

Listens on 127.0.0.1:LISTEN_PORT, connects each client to
127.0.0.1:TARGET_PORT, and forwards bytes both ways in order, each chunk
ONE_WAY_MS after it was read.  Exits after MAX_SECONDS (a bounded run) or on
SIGTERM.  The event loop runs on select(), whose timeout has microsecond
resolution (epoll's and poll()'s round sleeps up to whole milliseconds).
The effective delay still includes the proxy's own time and scheduling on
a busy machine: measure it (test/bench/citus.sh runs SELECT 1 through the
proxy and reports the round trip it sees).
"""
import asyncio
import selectors
import signal
import sys


async def pipe(reader, writer, delay):
    """Copy reader to writer, each chunk delay seconds after it arrived."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            queue.put_nowait((loop.time() + delay, data))
    except ConnectionError:
        pass
    finally:
        queue.put_nowait((loop.time() + delay, None))
    try:
        await sender
    except ConnectionError:
        pass


async def main(listen_port, target_port, delay, max_seconds):
    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection('127.0.0.1', target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, server_writer, delay),
                             pipe(server_reader, client_writer, delay))

    server = await asyncio.start_server(handle, '127.0.0.1', listen_port)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.cancel)
    try:
        await asyncio.wait_for(stop, max_seconds)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        pass
    server.close()


if __name__ == '__main__':
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    loop.run_until_complete(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000.0,
                                 float(sys.argv[4])))
    loop.close()
