#!/usr/bin/env python3
"""Build forkd(8) from its roff source (meson runs this at build time).

usage: build-man.py FORKD_BINARY TEMPLATE FORKD_TOML VERSION OUTPUT

Replaces @KEYS@ in the template with one entry per configuration key: its
name, default and allowed values from `forkd --list-keys` (the key table in
src/config/keys.cpp, so a new key appears without an edit here) and its
description from the comment above it in conf/forkd.toml (where every key
must be present and commented; a key without one fails the build).
"""

import datetime
import os
import re
import subprocess
import sys


def roff_text(text):
    """Plain text safe in a roff paragraph."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in text.splitlines())


def comments_by_key(toml_text):
    """{dotted key: its comment} from the file's layout: the comment lines
    right above `key = ...`, inside the [table] they follow. Keys on
    consecutive lines share the comment above the first (`user`, `group`)."""
    found, table, comment, after_key = {}, "", [], False
    for line in toml_text.splitlines():
        stripped = line.strip()
        if m := re.fullmatch(r"\[([A-Za-z0-9_]+)\]", stripped):
            table, comment, after_key = m.group(1), [], False
        elif stripped.startswith("#"):
            if after_key:
                comment, after_key = [], False
            comment.append(stripped.lstrip("#").strip())
        elif m := re.match(r"([A-Za-z0-9_]+)\s*=", stripped):
            found[(table + "." if table else "") + m.group(1)] = " ".join(comment)
            after_key = True
        else:
            comment, after_key = [], False
    return found


def keys_section(binary, toml_text):
    listed = subprocess.run([binary, "--list-keys"], check=True, capture_output=True, text=True).stdout
    comments = comments_by_key(toml_text)
    out, table = [], None
    for line in listed.splitlines():
        name, default, values = line.split("\t")
        this_table = name.rpartition(".")[0]
        if this_table != table:
            table = this_table
            out.append(f".SS {'[' + table + ']' if table else 'Top level'}")
        if not comments.get(name):
            sys.exit(f"build-man.py: key '{name}' has no comment in conf/forkd.toml")
        out += [".TP", f".B {roff_text(name)}", roff_text(comments[name]), ".br",
                f"Default: \\f(CW{roff_text(default)}\\fR; {roff_text(values)}."]
    return "\n".join(out)


def main():
    binary, template, toml_path, version, output = sys.argv[1:6]
    with open(template) as f:
        page = f.read()
    with open(toml_path) as f:
        toml_text = f.read()
    # SOURCE_DATE_EPOCH, if set, keeps the build reproducible.
    when = datetime.datetime.fromtimestamp(int(os.environ.get("SOURCE_DATE_EPOCH", os.path.getmtime(template))),
                                           datetime.timezone.utc)
    lines = page.splitlines()
    if lines.count("@KEYS@") != 1:
        sys.exit("build-man.py: the template needs exactly one line @KEYS@")
    lines[lines.index("@KEYS@")] = keys_section(binary, toml_text)
    page = ("\n".join(lines) + "\n").replace("@VERSION@", version).replace("@DATE@", when.strftime("%Y-%m-%d"))
    with open(output, "w") as f:
        f.write(page)


if __name__ == "__main__":
    main()
