"""Adversarial generators: each attack must end in a failed result with a reason, while the
tool (this test process) keeps running and its data (the ``canary`` fixture) stays intact."""

from __future__ import annotations

import os
import socket

from mda_augment.sandbox.isolation import pids_of_uid

from .conftest import run


def test_infinite_loop_is_stopped_by_the_cpu_limit():
    r = run("def generate(seed, n):\n    while True:\n        pass\n", cpu_s=1, timeout_s=5)
    assert (r.ok, r.reason) == (False, "timeout")
    assert "CPU" in r.message


def test_sleep_forever_is_stopped_by_the_wall_clock():
    r = run("import time\ndef generate(seed, n):\n    time.sleep(10**6)\n", timeout_s=1.5)
    assert (r.ok, r.reason) == (False, "timeout")
    assert r.wall_s < 3


def test_memory_bomb_becomes_a_memory_failure():
    r = run("""
        def generate(seed, n):
            hog = []
            while True:
                hog.append(bytearray(16 << 20))
        """, memory_mb=256)
    assert (r.ok, r.reason) == (False, "memory")


def test_fork_bomb_is_contained_and_cleaned_up():
    r = run("""
        import os, time
        def generate(seed, n):
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(60)
        """, timeout_s=2)
    assert not r.ok and r.reason in {"timeout", "exception", "protocol"}
    assert pids_of_uid(r.sandbox_uid) == []  # no straggler of the call survives


def test_detached_child_does_not_outlive_the_call():
    r = run("""
        import os, time
        def generate(seed, n):
            if os.fork() == 0:
                os.setsid()
                time.sleep(60)
            return ["a", "b", "c"]
        """)
    assert (r.ok, r.reason) == (False, "forked")  # generators run in one process
    assert pids_of_uid(r.sandbox_uid) == []


def test_a_fork_bomb_that_returns_documents_always_fails():
    """Forked copies used to race the original's frames onto the channel: a bomb was
    accepted in about half the runs. Now forked copies are muted and any fork fails."""
    code = """
        import os
        def generate(seed, n):
            while True:
                try:
                    os.fork()
                except OSError:
                    break
            return [f"doc {i}" for i in range(n)]
        """
    outcomes = [(r.ok, r.reason, r.docs) for r in (run(code, n=n) for n in (1, 3, 1, 3))]
    assert outcomes == [(False, "forked", [])] * 4


def test_oversized_document_hits_the_output_cap():
    r = run("def generate(seed, n):\n    yield 'x' * (8 << 20)\n", max_doc_bytes=1 << 20)
    assert (r.ok, r.reason) == (False, "output_cap")


def test_endless_stream_hits_the_output_cap():
    r = run("def generate(seed, n):\n    while True:\n        yield 'doc'\n", n=10)
    assert (r.ok, r.reason) == (False, "output_cap")
    assert r.docs == []


def test_total_output_cap():
    r = run("def generate(seed, n):\n    for _ in range(n):\n        yield 'y' * 4000\n",
            n=100, max_total_bytes=100_000)
    assert (r.ok, r.reason) == (False, "output_cap")


def test_writing_outside_the_workdir_is_denied(open_dir, canary):
    target = open_dir / "planted.txt"
    r = run(f"""
        def generate(seed, n):
            open({str(target)!r}, "w").write("pwned")
            open({str(canary)!r}, "w").write("pwned")
        """)
    assert (r.ok, r.reason) == (False, "exception")
    assert "PermissionError" in r.message
    assert not target.exists()


def test_writing_inside_the_workdir_is_allowed():
    r = run("""
        def generate(seed, n):
            with open("scratch.txt", "w") as f:
                f.write("ok")
            return [open("scratch.txt").read()] * n
        """)
    assert r.ok and r.docs == ["ok"] * 3


def test_reading_a_file_outside_the_allowlist_is_denied(open_dir):
    secret = open_dir / "secret.txt"
    secret.write_text("s3cr3t")
    secret.chmod(0o644)  # readable by anyone: only Landlock stands in the way
    r = run(f"def generate(seed, n):\n    return [open({str(secret)!r}).read()] * n\n")
    assert (r.ok, r.reason) == (False, "exception")
    assert "PermissionError" in r.message and "s3cr3t" not in r.message


def test_reading_system_files_is_denied():
    r = run("def generate(seed, n):\n    return [open('/etc/hostname').read()] * n\n")
    assert (r.ok, r.reason) == (False, "exception")
    assert "PermissionError" in r.message


def test_loopback_connection_fails_and_the_listener_sees_nothing():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        r = run(f"""
            import socket
            def generate(seed, n):
                socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"x")
            """)
        listener.settimeout(0.2)
        try:
            listener.accept()
            connected = True
        except TimeoutError:
            connected = False
    assert (r.ok, r.reason) == (False, "exception")
    assert "OSError" in r.message or "Error" in r.message
    assert not connected


def test_api_key_in_the_tool_environment_is_not_visible(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-planted-key")
    r = run("import os\ndef generate(seed, n):\n    return [os.environ['OPENAI_API_KEY']] * n\n")
    assert (r.ok, r.reason) == (False, "exception")
    assert "KeyError" in r.message and "sk-test" not in r.message


def test_parent_environ_cannot_be_read_through_proc(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-planted-key")
    r = run("import os\ndef generate(seed, n):\n"
            "    return [open(f'/proc/{os.getppid()}/environ', 'rb').read().decode()] * n\n")
    assert not r.ok and "sk-test" not in r.message + "".join(r.docs)


def test_closing_stdout_and_every_descriptor_is_a_closed_output_failure():
    r = run("""
        import os, sys
        def generate(seed, n):
            sys.stdout.close()
            os.closerange(0, 4096)
            return ["a"] * n
        """)
    assert (r.ok, r.reason) == (False, "closed_output")


def test_killing_the_tool_fails_and_the_tool_survives():
    """The generator's parent is the sandbox's own pid 1 (immune to signals from inside);
    the tool's pid does not exist in the sandbox's PID namespace (or Landlock scopes the
    signal away where there is none)."""
    r = run("import os, signal\ndef generate(seed, n):\n"
            "    os.kill(os.getppid(), signal.SIGKILL)\n"
            f"    os.kill({os.getpid()}, signal.SIGKILL)\n    return ['a'] * n\n")
    assert (r.ok, r.reason) == (False, "exception")
    assert "ProcessLookupError" in r.message or "PermissionError" in r.message
    os.kill(os.getpid(), 0)  # this process is alive


def test_non_utf8_output_is_rejected():
    r = run("def generate(seed, n):\n    return ['ok', 'bad \\udcff surrogate', 'ok']\n")
    assert (r.ok, r.reason) == (False, "bad_utf8")


def test_returning_a_non_iterable_is_a_wrong_type():
    r = run("def generate(seed, n):\n    return 42\n")
    assert (r.ok, r.reason) == (False, "wrong_type")


def test_yielding_bytes_is_a_wrong_type():
    r = run("def generate(seed, n):\n    yield b'bytes are not documents'\n")
    assert (r.ok, r.reason) == (False, "wrong_type")


def test_too_few_documents_is_a_wrong_count():
    r = run("def generate(seed, n):\n    return ['only one']\n", n=3)
    assert (r.ok, r.reason) == (False, "wrong_count")


def test_exception_is_reported_with_type_message_and_line():
    r = run("def generate(seed, n):\n    raise ValueError('boom')\n")
    assert (r.ok, r.reason) == (False, "exception")
    assert r.message == "ValueError: boom (line 2)"


def test_missing_generate_function():
    r = run("x = 1\n")
    assert (r.ok, r.reason) == (False, "bad_generator")


def test_syntax_error_is_an_exception_result():
    r = run("def generate(seed, n)\n    return []\n")
    assert (r.ok, r.reason) == (False, "exception")
    assert r.message.startswith("SyntaxError")
