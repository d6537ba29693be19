"""Passwords on the command lines of common tools: the flag that carries one differs from tool to tool.

`--password value` and `--password=value` are found by kv.py whatever the tool. What is here are the short
flags and positional forms that say "password" only in the tool's own manual: `sshpass -p`, `docker login -p`,
`mongo -p`, `redis-cli -a`, `sqlcmd -P`, `ldapsearch -w`, `zip -P`, `7z -p`, `openssl ... pass:`,
`keytool -storepass`, `smbclient -U user%pw`, `lftp -u user,pw`, `xfreerdp /p:`, `psexec -p`, `htpasswd -b file
user pw`, and `echo pw | sudo -S`. (`mysql -pPW` and `curl -u user:pw` are in patterns.py.)

Each pattern names its program (a needle: the pattern runs only on texts holding it), stays on one command
(no newline, `|`, `;` or `&` between program and flag) and bounds every gap, so each is linear in the text.
"""

from __future__ import annotations

import re
from typing import Final

from otel_claude.redaction.keys import is_placeholder
from otel_claude.redaction.patterns import SecretPattern

NAME: Final = "command_line_password"
_SAME_COMMAND: Final = r"[^\n|;&]{0,200}?"
_VALUE: Final = r"""['"]?(?P<v>[^\s'"]+)"""


def _not_placeholder(value: str) -> bool:
    return not is_placeholder(value) and not value.startswith("$")


def _not_a_flag(value: str) -> bool:
    # `-p -h host`: after a spaced flag, another flag means the tool will prompt for the password.
    return _not_placeholder(value) and not value.startswith("-")


def _cli(programs: str, flag: str, *needles: str, glued: bool = False) -> SecretPattern:
    gap = r"[ \t]*" if glued else r"[ \t]+"
    regex = rf"\b(?:{programs})\b{_SAME_COMMAND}[ \t]{flag}{gap}{_VALUE}"
    return SecretPattern(NAME, regex, needles, _not_placeholder if glued else _not_a_flag)


COMMAND_LINE_PATTERNS: Final[tuple[SecretPattern, ...]] = (
    _cli("sshpass", "-p", "sshpass", glued=True),
    SecretPattern(
        NAME,
        rf"\b(?:docker|podman|buildah|skopeo|nerdctl|helm|oras|crane)\b[^\n|;&]{{0,32}}?\blogin\b"
        rf"{_SAME_COMMAND}[ \t]-p[ \t]+{_VALUE}",
        ("docker", "podman", "buildah", "skopeo", "nerdctl", "helm", "oras", "crane"),
        _not_a_flag,
    ),
    _cli("mongo(?:sh|dump|restore|export|import|stat|top|files)?", "-p", "mongo"),
    _cli("redis-cli", "-a", "redis-cli"),
    _cli("sqlcmd|bcp|osql|isql", "-P", "sqlcmd", "bcp ", "osql", "isql", glued=True),
    _cli("ldap(?:search|add|modify|delete|whoami|passwd|compare|modrdn|exop)", "-w", "ldap"),
    _cli("zip|unzip|zipcloak", "-P", "zip "),
    _cli("7z[ar]?", "-p", "7z ", "7za ", "7zr ", glued=True),
    _cli("keytool|jarsigner", "-(?:src|dest|new)?(?:storepass|keypass)", "storepass", "keypass"),
    _cli("psexec(?:\\.py|\\.exe)?|PsExec(?:64)?(?:\\.exe)?", "-p", "psexec"),
    _cli("[a-z]*freerdp", "/p:", "freerdp", glued=True),
    SecretPattern(NAME, r"-pass(?:in|out|word|phrase)?[ \t]+['\"]?pass:(?P<v>[^\s'\"]+)", ("pass:",), _not_placeholder),
    SecretPattern(
        NAME,
        rf"\b(?:smbclient|rpcclient|smbmap|smbget|smbcacls)\b{_SAME_COMMAND}[ \t](?:-U|--user=?)"
        r"[ \t]*['\"]?[^\s%'\"]{1,64}%(?P<v>[^\s'\"]+)",
        ("smbclient", "rpcclient", "smbmap", "smbget", "smbcacls"),
        _not_placeholder,
    ),
    SecretPattern(
        NAME,
        rf"\blftp\b{_SAME_COMMAND}[ \t]-u[ \t]+['\"]?[^\s,'\"]{{1,64}},(?P<v>[^\s'\"]+)",
        ("lftp",),
        _not_placeholder,
    ),
    # htpasswd -b[c...] [more flags] file user password
    SecretPattern(
        NAME,
        r"\bhtpasswd[ \t]+-[a-zA-Z]*b[a-zA-Z]*[ \t]+(?:-[a-zA-Z]+[ \t]+){0,4}[^\s-]\S{0,255}[ \t]+"
        r"\S{1,64}[ \t]+['\"]?(?P<v>[^\s'\"]+)",
        ("htpasswd",),
        _not_placeholder,
    ),
    # echo pw | sudo -S ...: sudo reads the password from its standard input
    SecretPattern(
        NAME,
        r"\b(?:echo|printf)[ \t]+(?:-[a-z]+[ \t]+){0,2}(?P<q>['\"]?)(?P<v>[^\s'\"|]{1,256})(?P=q)"
        r"[ \t]*\|[ \t]*sudo\b[^\n|;&]{0,64}?[ \t]-[a-zA-Z]*S",
        ("sudo",),
        _not_placeholder,
    ),
)
COMMAND_LINE_COMPILED: Final = tuple((p, re.compile(p.regex)) for p in COMMAND_LINE_PATTERNS)
