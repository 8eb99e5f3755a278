"""docs/websocket.md: every Swift block is a whole program that compiles as Embedded
Swift against the library (as firmware code would), and the chat room block is
Sources/chat-server/main.swift word for word. Host only."""
import os
import re
import subprocess

import pytest

from conftest import BOARD, ROOT

pytestmark = pytest.mark.skipif(BOARD != "host", reason="compiles on the host only")

DOC = os.path.join(ROOT, "docs", "websocket.md")


def blocks():
    text = open(DOC).read()
    return [(m.group(1), m.group(2)) for m in
            re.finditer(r"(<!-- app: (?:\S+) -->\n)?```swift\n(.*?)```", text, re.S)]


def test_chat_block_is_the_app():
    text = open(DOC).read()
    m = re.search(r"<!-- app: (\S+) -->\n```swift\n(.*?)```", text, re.S)
    assert m and open(os.path.join(ROOT, m.group(1))).read() == m.group(2)


def test_every_swift_block_compiles_as_firmware(tmp_path):
    subprocess.run(["make", "-s", "check-modules"], cwd=ROOT, check=True, capture_output=True)
    snippets = [code for marker, code in blocks() if not marker]
    assert len(snippets) >= 8
    for i, code in enumerate(snippets):
        src = tmp_path / f"block{i}.swift"
        src.write_text(code)
        out = subprocess.run(["swiftc", "-target", "x86_64-unknown-linux-gnu", "-enable-experimental-feature", "Embedded",
                              "-wmo", "-Osize", "-I", os.path.join(ROOT, "Sources", "CMeerkat", "include"),
                              "-I", os.path.join(ROOT, "build", "check", "modules"), "-module-name", f"block{i}",
                              "-c", str(src), "-o", str(tmp_path / f"block{i}.o")],
                             capture_output=True, text=True)
        assert out.returncode == 0, f"block {i}:\n{code[:300]}\n{out.stderr[-2000:]}"
