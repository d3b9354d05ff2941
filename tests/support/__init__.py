"""Real things for the end-to-end tests: a test CA, origins, a git server, a Messages API stand-in.

Every server here listens on loopback at a kernel-chosen port, runs in threads of the test
process, records what it received, and stops when its fixture ends. `fixtures.py` holds the
pytest fixtures (a conftest imports them); `clients.py` finds the real clients that
`make clients` installs (Node 24, the Claude Code CLI).

- `pki`: a test CA and a server certificate for localhost, 127.0.0.1-3 and ::1.
- `httpserver`: the threaded HTTP/1.1 server all of them share (TLS per connection, SNI
  recorded, chunked request bodies, keep-alive, streamed responses).
- `origin`: an origin with `/echo`, `/reflect`, `/sse`, `/status/N`, `/bytes/N`, `/big-upload`.
- `gitserver`: `git http-backend` over HTTPS that demands an Authorization header.
- `messages_api`: a stand-in for the Anthropic Messages API that checks `x-api-key`.
"""
