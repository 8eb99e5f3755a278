"""Copies each source file that a document quotes whole back into it: a fenced swift
block right after `<!-- example: PATH -->` (README.md) or `<!-- app: PATH -->`
(docs/*.md) becomes PATH's text. `make format` runs it after rewriting the Swift files,
so the quoted apps stay word for word what the tests compare (ReadmeTests, test_docs).
    doc_examples.py [--check] DOC...
--check changes nothing and exits with 1 when a block differs."""
import re
import sys

BLOCK = re.compile(r"(<!-- (?:example|app): (\S+) -->\n```swift\n)(.*?)(```)", re.S)


def main(args):
    check = "--check" in args
    stale = []
    for doc in (a for a in args if a != "--check"):
        text = open(doc).read()
        new = BLOCK.sub(lambda m: m[1] + open(m[2]).read() + m[4], text)
        if new != text:
            stale.append(doc)
            if not check:
                with open(doc, "w") as f:
                    f.write(new)
    for doc in stale:
        print(f"doc_examples: {doc} {'differs from' if check else 'updated from'} the files it quotes")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
