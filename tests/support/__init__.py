"""What tests share, in one place: real git repositories (:mod:`.repos`),
git servers on loopback (:mod:`.git_servers`: one smart-HTTP server with
auth, delays and a request log, and ``git daemon``; :mod:`.sshd`), the
emulator's ``serve`` process (:mod:`.emulator`), the daemon as a subprocess
(:mod:`.daemon`), waits (:mod:`.waits`), sockets (:mod:`.net`), and the
helpers of the render, drift, CLI, CRD and browser tests.

Test modules import from here and from ``conftest.py`` fixtures, never from
each other (tests/unit/test_layout.py checks), so a test can move between
tiers without taking others with it.
"""
