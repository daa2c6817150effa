"""Serial multiparameter monitors (Philips IntelliVue, GE Datex-Ohmeda S/5), sans-I/O.

Each protocol is a codec plus a session state machine that never touches a port:
`feed(data, now_s)` returns protocol-neutral events (`devices.multiparam.events`), and
`poll(now_s)` returns the bytes to write. A Driver wires one to any serial transport.
"""
