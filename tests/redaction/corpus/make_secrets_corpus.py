"""Writes secrets.jsonl: fake secrets in the real formats, planted in the places Claude Code sees them.

Every secret is random (seeded, so the file is reproducible) and none is a live credential. Each line is
{"id", "kind", "context", "secret", "text"}: `secret` is what must not survive scrubbing `text`.

    .venv/bin/python tests/redaction/corpus/make_secrets_corpus.py     # rewrites secrets.jsonl next to it
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).with_name("secrets.jsonl")
rng = random.Random(20260523)

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"


def r(chars: str, n: int) -> str:
    return "".join(rng.choice(chars) for _ in range(n))


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def password() -> str:
    words = ["Hunter", "Blue", "Falcon", "River", "Orbit", "Maple", "Quartz", "Tango", "Nimbus", "Copper"]
    style = rng.randrange(4)
    if style == 0:
        first, second = rng.choice(words), rng.choice(words)
        return f"{first}{rng.randrange(10, 99)}{second}{rng.choice('!#%&*@')}{rng.randrange(10)}"
    if style == 1:
        return r(ALNUM, 16)
    if style == 2:
        return r(ALNUM + "!#%^*()-_=+", 20)
    return rng.choice(words).lower() + rng.choice(words).lower() + str(rng.randrange(100, 999))


# --- generators of each format --------------------------------------------------------------------------
def jwt() -> str:
    header = b64url(json.dumps({"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}).encode())
    payload = b64url(
        json.dumps(
            {"sub": r(HEX, 12), "iat": rng.randrange(1_700_000_000, 1_800_000_000), "scope": "repo read:org"}
        ).encode()
    )
    return f"{header}.{payload}.{b64url(rng.randbytes(32))}"


def pem(kind: str) -> str:
    lines = [r(B64, 64) for _ in range(rng.randrange(6, 14))] + [r(B64, 40) + "=="]
    return f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----"


def pem_body(block: str, escaped: bool = False) -> str:
    body = "\n".join(block.split("\n")[1:-1])
    return json.dumps(body)[1:-1] if escaped else body  # as it appears inside a JSON string


def basic(user: str, pw: str) -> str:
    return base64.b64encode(f"{user}:{pw}".encode()).decode()


TOKENS: dict[str, Callable[[], str]] = {
    "anthropic_api_key": lambda: "sk-ant-api03-" + r(URLSAFE, 93) + "AA",
    "anthropic_admin_key": lambda: "sk-ant-admin01-" + r(URLSAFE, 93) + "AA",
    "anthropic_oauth_token": lambda: "sk-ant-oat01-" + r(URLSAFE, 95),
    "openai_key": lambda: rng.choice(
        [
            "sk-proj-" + r(URLSAFE, 74) + "T3BlbkFJ" + r(URLSAFE, 74),
            "sk-" + r(ALNUM, 20) + "T3BlbkFJ" + r(ALNUM, 20),
            "sk-svcacct-" + r(URLSAFE, 58) + "T3BlbkFJ" + r(URLSAFE, 58),
        ]
    ),
    "aws_access_key_id": lambda: rng.choice(["AKIA", "ASIA"]) + r(string.ascii_uppercase + "234567", 16),
    "github_token": lambda: rng.choice(["ghp_", "gho_", "ghs_", "ghu_", "ghr_"]) + r(ALNUM, 36),
    "github_fine_grained_pat": lambda: (
        "github_pat_11" + r(string.ascii_uppercase + string.digits, 20) + "_" + r(ALNUM, 59)
    ),
    "gitlab_token": lambda: "glpat-" + r(URLSAFE, 20),
    "slack_token": lambda: (
        rng.choice(["xoxb-", "xoxp-"]) + r(string.digits, 12) + "-" + r(string.digits, 13) + "-" + r(ALNUM, 24)
    ),
    "slack_webhook": lambda: (
        f"https://hooks.slack.com/services/T{r(string.ascii_uppercase + string.digits, 8)}/"
        f"B{r(string.ascii_uppercase + string.digits, 8)}/{r(ALNUM, 24)}"
    ),
    "stripe_key": lambda: rng.choice(["sk_live_", "rk_live_", "sk_test_"]) + r(ALNUM, 24 + rng.randrange(76)),
    "stripe_webhook_secret": lambda: "whsec_" + r(ALNUM, 32),
    "google_api_key": lambda: "AIza" + r(URLSAFE, 35),
    "google_oauth_client_secret": lambda: "GOCSPX-" + r(URLSAFE, 28),
    "google_oauth_access_token": lambda: "ya29.a0" + r(URLSAFE, 120),
    "npm_token": lambda: "npm_" + r(ALNUM, 36),
    "pypi_token": lambda: "pypi-AgEIcHlwaS5vcmc" + r(URLSAFE, 120),
    "huggingface_token": lambda: "hf_" + r(string.ascii_letters, 34),
    "sendgrid": lambda: "SG." + r(URLSAFE, 22) + "." + r(URLSAFE, 43),
    "twilio_api_key": lambda: "SK" + r(HEX, 32),
    "jwt": jwt,
    "digitalocean_token": lambda: "dop_v1_" + r(HEX, 64),
    "databricks_token": lambda: "dapi" + r(HEX, 32),
    "shopify_token": lambda: "shpat_" + r(HEX, 32),
    "vault_token": lambda: "hvs." + r(URLSAFE, 90),
    "linear_api_key": lambda: "lin_api_" + r(ALNUM, 40),
    "doppler_token": lambda: "dp.pt." + r(ALNUM, 43),
    "age_secret_key": lambda: "AGE-SECRET-KEY-1" + r("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58),
    "postman_api_key": lambda: "PMAK-" + r(HEX, 24) + "-" + r(HEX, 34),
    "heroku_api_key": lambda: "HRKU-AA" + r(URLSAFE, 58),
    "perplexity_api_key": lambda: "pplx-" + r(ALNUM, 48),
    "groq_api_key": lambda: "gsk_" + r(ALNUM, 52),
    "xai_api_key": lambda: "xai-" + r(ALNUM, 80),
    "replicate_api_token": lambda: "r8_" + r(ALNUM, 37),
    "notion_token": lambda: "ntn_" + r(string.digits, 11) + r(ALNUM, 35),
    "tailscale_key": lambda: "tskey-auth-" + r(ALNUM, 12) + "CNTRL-" + r(ALNUM, 32),
    "sentry_token": lambda: "sntryu_" + r(HEX, 64),
    "grafana_token": lambda: rng.choice(["glsa_" + r(ALNUM, 32) + "_" + r(HEX, 8), "glc_" + r(ALNUM, 60)]),
    "azure_client_secret": lambda: r(ALNUM, 3) + str(rng.randrange(10)) + "Q~" + r(ALNUM + "_~.-", 34),
    "telegram_bot_token": lambda: str(rng.randrange(10**8, 10**9)) + ":AA" + r(URLSAFE, 33),
    "mailgun_api_key": lambda: "key-" + r(HEX, 32),
    "openrouter_key": lambda: "sk-or-v1-" + r(HEX, 64),
    "aws_bedrock_api_key": lambda: "ABSK" + r(B64, 132),
    "atlassian_api_token": lambda: "ATATT3xFfGF0" + r(URLSAFE, 180),
    "flyio_token": lambda: "fo1_" + r(URLSAFE, 43),
    "onepassword_token": lambda: "ops_eyJzaWduSW5BZGRyZXNzIjoi" + r(B64, 300),
    "planetscale_token": lambda: "pscale_tkn_" + r(URLSAFE, 43),
    "square_token": lambda: rng.choice(["sq0atp-" + r(URLSAFE, 22), "EAAA" + r(URLSAFE, 60)]),
}

# Places a bare token shows up; {s} is the secret.
TOKEN_CONTEXTS: dict[str, str] = {
    "prompt": "Use this key for the staging run: {s} and then open a PR with the fix.",
    "bash_export": "export SERVICE_CREDENTIAL={s} && ./deploy.sh --env staging",
    "env_file": "# local settings\nAPP_ENV=development\nLOG_LEVEL=debug\nSERVICE_API_KEY={s}\nPORT=8080\n",
    "json_config": '{{"service": "billing", "region": "eu-west-1", "credentials": {{"value": "{s}"}}, "retries": 3}}',
    "yaml_config": "service:\n  name: billing\n  replicas: 2\n  apiKey: {s}\n  timeout: 30s\n",
    "tool_output": "$ cat ~/.config/tool/config\n[default]\nregion = us-east-1\ncredential = {s}\noutput = json\n",
    "error_text": "Error: request failed with 401 Unauthorized (key {s} was revoked)\n"
    "    at fetchJson (client.js:42:11)",
    "python_code": 'import os\n\nclient = Client(\n    base_url="https://api.example.com",\n    api_key="{s}",\n)\n',
    "markdown": "## Setup\n\nSet the key in your shell:\n\n```sh\nexport API_KEY='{s}'\n```\n",
    "log_line": "2026-05-23T10:12:01Z INFO configured client with token={s} retries=3",
    "header": 'curl -sS https://api.example.com/v1/items -H "X-Api-Key: {s}"',
    "bearer": 'curl -H "Authorization: Bearer {s}" https://api.example.com/v1/me',
    "inline_prose": "the old one ({s}) still works, I think",
}


def token_entries() -> list[tuple[str, str, str, str]]:
    entries = []
    contexts = list(TOKEN_CONTEXTS)
    for kind, make in TOKENS.items():
        for context in rng.sample(contexts, 5):
            secret = make()
            entries.append((kind, context, secret, TOKEN_CONTEXTS[context].format(s=secret)))
    return entries


def contextual_entries() -> list[tuple[str, str, str, str]]:
    e: list[tuple[str, str, str, str]] = []

    def add(kind: str, context: str, secret: str, text: str) -> None:
        e.append((kind, context, secret, text))

    for _ in range(4):  # AWS secret access keys have no prefix: only their key says what they are
        key_id = "AKIA" + r(string.ascii_uppercase + "234567", 16)
        secret = r(B64, 40)
        add(
            "aws_secret_access_key",
            "credentials_file",
            secret,
            f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\nregion = us-east-1\n",
        )
        secret = r(B64, 40)
        add(
            "aws_secret_access_key",
            "bash_export",
            secret,
            f"export AWS_ACCESS_KEY_ID={key_id}\nexport AWS_SECRET_ACCESS_KEY={secret}\naws s3 ls",
        )
        secret = r(B64, 40)
        add(
            "aws_secret_access_key",
            "json_config",
            secret,
            json.dumps({"AccessKeyId": key_id, "SecretAccessKey": secret, "Expiration": "2026-05-24T00:00:00Z"}),
        )
        token = r(B64, 300)
        add(
            "aws_session_token",
            "env_dump",
            token,
            f"HOME=/home/dev\nAWS_REGION=eu-west-1\nAWS_SESSION_TOKEN={token}\nSHELL=/bin/bash\n",
        )

    for kind in ("RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY"):
        block = pem(kind)
        add("private_key", "file_content", pem_body(block), f"Here is the key file:\n{block}\n")
        block = pem(kind)
        document = json.dumps({"path": "id_rsa", "content": block})
        add("private_key", "json_escaped", pem_body(block, escaped=True), document)
        block = pem(kind)
        lines = block.split("\n")
        truncated = "\n".join(lines[:4])  # a tool output cut short: no END line
        add("private_key", "truncated_output", "\n".join(lines[1:4]), f"$ head -4 ~/.ssh/id\n{truncated}")

    for _ in range(3):  # a GCP service account key file
        block = pem("PRIVATE KEY")
        key_id = r(HEX, 40)
        doc = {
            "type": "service_account",
            "project_id": "acme-prod-4411",
            "private_key_id": key_id,
            "private_key": block + "\n",
            "client_email": "deployer@acme-prod-4411.iam.gserviceaccount.com",
            "client_id": r(string.digits, 21),
            "token_uri": "https://oauth2.googleapis.com/token",
        }
        add("gcp_service_account", "json_file", key_id, json.dumps(doc, indent=2))
        add("gcp_service_account", "json_file_key", pem_body(block, escaped=True), json.dumps(doc, indent=2))

    for scheme, host in (
        ("postgres", "db.internal:5432/app"),
        ("postgresql", "10.0.0.5/analytics"),
        ("mysql", "mysql.svc:3306/shop"),
        ("mongodb+srv", "cluster0.ab1cd.mongodb.net/prod"),
        ("redis", "cache.internal:6379/0"),
        ("amqp", "rabbit:5672/vhost"),
        ("https", "git.example.com/acme/repo.git"),
        ("ftp", "files.example.com/pub"),
    ):
        for context in ("env_file", "bash_command", "error_text"):
            pw = password()
            url = f"{scheme}://app_user:{pw}@{host}"
            text = {
                "env_file": f"APP_ENV=prod\nDATABASE_URL={url}\nWORKERS=4\n",
                "bash_command": f"psql '{url}' -c 'select 1'" if "post" in scheme else f"git clone {url}",
                "error_text": f"could not connect to server: connection refused ({url})",
            }[context]
            add("url_password", context, pw, text)
    pw = password()
    add("url_password", "redis_no_user", pw, f"REDIS_URL=redis://:{pw}@cache.internal:6379/0")

    for _ in range(3):  # database connection strings of other shapes
        pw = password()
        add(
            "db_password",
            "ado_net",
            pw,
            f'"ConnectionStrings": {{"Default": "Server=sql.internal;Database=shop;User Id=sa;Password={pw};"}}',
        )
        pw = password()
        add(
            "db_password",
            "libpq_dsn",
            pw,
            f'conn = psycopg2.connect("host=db.internal dbname=app user=app password={pw}")',
        )
        pw = password()
        add("db_password", "jdbc", pw, f"jdbc:mysql://db.internal:3306/shop?user=app&password={pw}&useSSL=true")

    for _ in range(4):
        user, pw = rng.choice(["admin", "deploy", "ci"]), password()
        add("basic_auth", "header", basic(user, pw), f"Authorization: Basic {basic(user, pw)}")
        pw2 = r(ALNUM, 14)
        add("basic_auth", "curl_user", pw2, f"curl -u {user}:{pw2} https://registry.example.com/v2/_catalog")
        token = r(URLSAFE + ".", 48)
        add("bearer_token", "curl_header", token, f"curl -H 'Authorization: Bearer {token}' https://api.example.com/me")
        token = r(HEX, 40)
        add(
            "bearer_token",
            "python_headers",
            token,
            f'headers = {{"Authorization": "Bearer {token}", "Accept": "application/json"}}',
        )
        token = r(ALNUM, 32)
        add(
            "authorization_header",
            "http_dump",
            token,
            f"GET /v1/items HTTP/1.1\nHost: api.example.com\nAuthorization: token {token}\nUser-Agent: curl/8.5.0\n",
        )

    env_keys = [
        "DB_PASSWORD",
        "POSTGRES_PASSWORD",
        "SECRET_KEY",
        "JWT_SECRET",
        "SESSION_SECRET",
        "ADMIN_TOKEN",
        "API_KEY",
        "CLIENT_SECRET",
        "MYSQL_PWD",
        "ENCRYPTION_KEY",
        "WEBHOOK_SECRET",
        "SMTP_PASS",
    ]
    for key in env_keys:
        value = password()
        add("env_assignment", "env_file", value, f"# .env\nNODE_ENV=production\n{key}={value}\nPORT=3000\n")
        value = password()
        add(
            "env_assignment",
            "env_dump",
            value,
            f"SHELL=/bin/bash\nPWD=/home/dev/project\nLANG=C.UTF-8\n{key}={value}\nPATH=/usr/local/bin:/usr/bin\n",
        )
        value = password()
        add("env_assignment", "docker_run", value, f"docker run -d -e {key}={value} -p 5432:5432 postgres:16")

    generic: list[tuple[str, Callable[[str], str]]] = [
        ("json_config", lambda v: json.dumps({"username": "svc", "password": v, "host": "db"})),
        ("json_nested", lambda v: json.dumps({"auth": {"client_id": "abc", "client_secret": v}})),
        ("json_in_json", lambda v: json.dumps({"tool_input": {"content": json.dumps({"api_key": v}, indent=2)}})),
        ("yaml_config", lambda v: f"database:\n  host: db.internal\n  user: app\n  password: {v}\n  port: 5432\n"),
        ("yaml_quoted", lambda v: f'smtp:\n  host: smtp.example.com\n  password: "{v}"\n'),
        ("python_code", lambda v: f'DATABASES = {{"default": {{"USER": "app", "PASSWORD": "{v}", "HOST": "db"}}}}'),
        ("python_assign", lambda v: f'SECRET_KEY = "{v}"\nDEBUG = False\n'),
        ("js_code", lambda v: f"const config = {{\n  user: 'app',\n  password: '{v}',\n}};\n"),
        ("toml", lambda v: f'[server]\nport = 8080\n[server.auth]\ntoken = "{v}"\n'),
        ("ini", lambda v: f"[smtp]\nhost = smtp.example.com\npassword = {v}\n"),
        (
            "xml",
            lambda v: (
                f"<server>\n  <id>nexus</id>\n  <username>deploy</username>\n  <password>{v}</password>\n</server>"
            ),
        ),
        ("cli_flag", lambda v: f"mysqldump --user=root --password={v} shop > shop.sql"),
        ("cli_flag_space", lambda v: f"vault login --token {v} && vault kv get secret/app"),
        ("mysql_cli", lambda v: f"mysql -h db.internal -u root -p{v} shop -e 'select count(*) from orders'"),
        ("netrc", lambda v: f"machine api.github.com\n  login octocat\n  password {v}\n"),
        ("properties", lambda v: f"spring.datasource.url=jdbc:postgresql://db/app\nspring.datasource.password={v}\n"),
        ("prose", lambda v: f"FYI the staging db password is {v}. Don't share it."),
        ("query_string", lambda v: f"GET https://api.example.com/v1/export?format=csv&access_token={v}&page=2"),
        ("cookie", lambda v: f"Cookie: theme=dark; sessionid={v}; csrftoken=abc"),
        ("set_cookie", lambda v: f"Set-Cookie: session={v}; Path=/; HttpOnly; Secure"),
        ("npmrc", lambda v: f"registry=https://registry.npmjs.org/\n//npm.example.com/:_authToken={v}\n"),
        (
            "k8s_secret",
            lambda v: f"apiVersion: v1\nkind: Secret\ndata:\n  password: {base64.b64encode(v.encode()).decode()}\n",
        ),
        (
            "azure_conn",
            lambda v: (
                f"DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey={v};EndpointSuffix=core.windows.net"
            ),
        ),
        ("twilio_env", lambda v: f"TWILIO_ACCOUNT_SID=AC{r(HEX, 32)}\nTWILIO_AUTH_TOKEN={v}\n"),
        ("powershell", lambda v: f'$env:API_TOKEN = "{v}"; ./run.ps1'),
        (
            "azure_sas_url",
            lambda v: (
                f"https://acme.blob.core.windows.net/backups/db.bak?sv=2022-11-02&ss=b&srt=o"
                f"&sp=r&se=2026-06-01T00:00:00Z&sig={v}"
            ),
        ),
    ]
    for context, render in generic:
        for _ in range(2):
            if context == "azure_conn":
                value = r(B64, 86) + "=="
            elif context == "twilio_env":
                value = r(HEX, 32)
            elif context == "azure_sas_url":
                value = r(ALNUM, 40) + "%3D"
            elif context == "k8s_secret":
                value = password()
                add("generic_secret", context, base64.b64encode(value.encode()).decode(), render(value))
                continue
            else:
                value = password()
            add("generic_secret", context, value, render(value))

    # Whole HookInput payloads (JSON in a string attribute), with the secret in the tool input.
    for _ in range(6):
        kind = rng.choice(list(TOKENS))
        secret = TOKENS[kind]()
        payload = {
            "session_id": "c77f9869-7342-4145-9251-6b7551d2e158",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_use_id": "toolu_01" + r(HEX, 22),
            "tool_input": {"command": f"export TOKEN={secret}; ./sync.sh", "description": "Sync"},
        }
        add(kind, "hook_payload", secret, json.dumps(payload))
        pw = password()
        payload2 = {
            "hook_event_name": "PostToolUse",
            "tool_name": "Read",
            "tool_response": {
                "file": {"filePath": "/home/dev/project/.env", "content": f"APP_NAME=shop\nDB_PASSWORD={pw}\n"}
            },
        }
        add("env_assignment", "hook_payload_file", pw, json.dumps(payload2))
    return e


# --- the long tail (issue 11): no format, or a format known only by where it stands ------------------------
LONG_TAIL_TOKENS: dict[str, Callable[[], str]] = {
    "discord_bot_token": lambda: rng.choice("MNO") + r(ALNUM, 25) + "." + r(URLSAFE, 6) + "." + r(URLSAFE, 38),
    "discord_webhook": lambda: f"https://discord.com/api/webhooks/{r(string.digits, 18)}/{r(URLSAFE, 68)}",
    "newrelic_key": lambda: "NRAK-" + r(string.ascii_uppercase + string.digits, 27),
    "dynatrace_token": lambda: (
        "dt0c01." + r(string.ascii_uppercase + string.digits, 24) + "." + r(string.ascii_uppercase + string.digits, 64)
    ),
    "pulumi_token": lambda: "pul-" + r(HEX, 40),
    "terraform_cloud_token": lambda: r(ALNUM, 14) + ".atlasv1." + r(ALNUM, 67),
    "airtable_pat": lambda: "pat" + r(ALNUM, 14) + "." + r(HEX, 64),
    "figma_token": lambda: "figd_" + r(URLSAFE, 40),
    "buildkite_token": lambda: "bkua_" + r(HEX, 40),
    "prefect_key": lambda: "pnu_" + r(ALNUM, 36),
    "rubygems_key": lambda: "rubygems_" + r(HEX, 48),
    "dockerhub_pat": lambda: "dckr_pat_" + r(URLSAFE, 27),
    "bitbucket_app_password": lambda: "ATBB" + r(ALNUM, 32),
    "supabase_token": lambda: "sbp_" + r(HEX, 40),
    "langsmith_key": lambda: "lsv2_pt_" + r(HEX, 32) + "_" + r(HEX, 10),
    "pinecone_key": lambda: "pcsk_" + r(ALNUM, 5) + "_" + r(ALNUM, 60),
    "netlify_token": lambda: "nfp_" + r(ALNUM, 40),
    "sourcegraph_token": lambda: "sgp_" + r(HEX, 40),
    "brevo_key": lambda: "xkeysib-" + r(HEX, 64) + "-" + r(ALNUM, 16),
    "shippo_token": lambda: "shippo_live_" + r(HEX, 40),
    "easypost_key": lambda: "EZAK" + r(HEX, 54),
    "readme_key": lambda: "rdme_" + r(string.ascii_lowercase + string.digits, 70),
    "openshift_token": lambda: "sha256~" + r(URLSAFE, 43),
    "typeform_token": lambda: "tfp_" + r(ALNUM, 44) + "_" + r(ALNUM, 14),
    "facebook_token": lambda: "EAACEdEose0cBA" + r(ALNUM, 120),
    "okta_token": lambda: "00" + r(ALNUM, 40),
    "cloudflare_api_token": lambda: r(URLSAFE, 40),
    "mistral_api_key": lambda: r(ALNUM, 32),
    "azure_devops_pat": lambda: r(ALNUM, 84),
    "random_base64_secret": lambda: r(B64, 44),
    "bearer_token_letters": lambda: r(string.ascii_letters, 48),
}
# Prose and text where only the token's own randomness gives it away.
LONG_TAIL_CONTEXTS: dict[str, str] = {
    "inline_prose": "the old one ({s}) still works, I think",
    "prompt": "Can you check why {s} is rejected by the staging API?",
    "error_text": "Error: request failed with 401 Unauthorized (key {s} was revoked)",
    "log_line": "2026-05-23T10:12:01Z WARN retrying with credential {s}",
    "markdown_list": "- staging: `{s}`\n- prod: ask Sam",
    "tool_output": "$ cat .secrets/deploy\n{s}\n",
}


def long_tail_entries() -> list[tuple[str, str, str, str]]:
    e: list[tuple[str, str, str, str]] = []

    def add(kind: str, context: str, secret: str, text: str) -> None:
        e.append((kind, context, secret, text))

    contexts = list(LONG_TAIL_CONTEXTS)
    for kind, make in LONG_TAIL_TOKENS.items():
        for context in rng.sample(contexts, 3):
            secret = make()
            add(kind, context, secret, LONG_TAIL_CONTEXTS[context].format(s=secret))

    for _ in range(3):  # AWS secret access keys in the console's CSV export and in prose
        key_id = "AKIA" + r(string.ascii_uppercase + "234567", 16)
        secret = r(B64, 40)
        add(
            "aws_secret_access_key",
            "console_csv",
            secret,
            "User name,Password,Access key ID,Secret access key,Console login link\n"
            f"deployer,,{key_id},{secret},https://123456789012.signin.aws.amazon.com/console\n",
        )
        secret = r(B64, 40)
        add("aws_secret_access_key", "access_keys_csv", secret, f"Access key ID,Secret access key\n{key_id},{secret}\n")
        secret = r(B64, 40)
        add(
            "aws_secret_access_key",
            "prose",
            secret,
            f"I rotated the keys: the new id is {key_id} and the secret is {secret} (don't commit it)",
        )
        secret = r(B64, 40)
        add("aws_secret_access_key", "prose_pair", secret, f"creds for the CI user: {key_id} / {secret}")

    for _ in range(2):  # URL passwords holding the characters that end a naive match
        for context, pw in (
            ("at_sign", r(ALNUM, 6) + "@" + r(ALNUM, 8)),
            ("slash", r(ALNUM, 7) + "/" + r(ALNUM, 7)),
            ("colon", r(ALNUM, 5) + ":" + r(ALNUM, 9)),
            ("mixed", r(ALNUM, 4) + "@/:" + r(ALNUM, 9)),
        ):
            add("url_password", context, pw, f"DATABASE_URL=postgres://app:{pw}@db.internal:5432/app")
            pw2 = r(ALNUM, 6) + rng.choice("@/:") + r(ALNUM, 8)
            add("url_password", f"{context}_clone", pw2, f"git clone https://deploy:{pw2}@git.example.com/acme/app.git")

    env_secrets: list[tuple[str, str, Callable[[], str]]] = [
        ("signing_salt", "SIGNING_SALT", lambda: r(ALNUM, 32)),
        ("encryption_iv", "ENCRYPTION_IV", lambda: r(HEX, 32)),
        ("hmac_secret", "HMAC", lambda: r(B64, 44)),
        ("hmac_secret", "WEBHOOK_HMAC_KEY", lambda: r(HEX, 64)),
        ("admin_pin", "ADMIN_PIN", lambda: r(string.digits, 6)),
        ("license_key", "LICENSE", lambda: "-".join(r(string.ascii_uppercase + string.digits, 5) for _ in range(5))),
        ("license_key", "SIDEKIQ_PRO_LICENSE", lambda: r(HEX, 8) + ":" + r(HEX, 8)),
        (
            "sentry_dsn",
            "SENTRY_DSN",
            lambda: f"https://{r(HEX, 32)}@o{r(string.digits, 6)}.ingest.sentry.io/{r(string.digits, 7)}",
        ),
        ("encryption_seed", "ENCRYPTION_SEED", lambda: r(ALNUM, 24)),
        ("otp_secret", "TOTP_SECRET", lambda: r(string.ascii_uppercase + "234567", 32)),
    ]
    for kind, key, make in env_secrets:
        value = make()
        add(kind, "env_file", value, f"# .env\nNODE_ENV=production\n{key}={value}\nPORT=3000\n")
        value = make()
        add(kind, "yaml_config", value, f"app:\n  {key.lower()}: {value}\n  port: 3000\n")
        value = make()
        add(kind, "json_config", value, json.dumps({"name": "shop", key.lower(): value}))
        value = make()
        add(kind, "docker_run", value, f"docker run -d -e {key}={value} acme/shop:1.4")

    cli: list[tuple[str, Callable[[str], str]]] = [
        ("sshpass_password", lambda v: f"sshpass -p {v} ssh deploy@10.0.0.12 'systemctl restart app'"),
        ("sshpass_password", lambda v: f"sshpass -p'{v}' scp build.tgz deploy@10.0.0.12:/srv"),
        ("docker_login_password", lambda v: f"docker login -u ci -p {v} registry.example.com"),
        ("docker_login_password", lambda v: f"podman login --username ci --password {v} quay.io"),
        ("sudo_stdin_password", lambda v: f"echo {v} | sudo -S apt-get install -y nginx"),
        ("sudo_stdin_password", lambda v: f"echo '{v}' | sudo -S systemctl restart nginx"),
        ("htpasswd_password", lambda v: f"htpasswd -b /etc/nginx/.htpasswd admin {v}"),
        ("htpasswd_password", lambda v: f"htpasswd -bc .htpasswd ops {v}"),
        ("mongo_password", lambda v: f"mongo -u admin -p {v} --authenticationDatabase admin shop"),
        ("mongo_password", lambda v: f"mongosh --username app --password {v} mongodb://db:27017/shop"),
        ("mysql_password", lambda v: f"mysql -u root -p{v} -e 'show databases'"),
        ("mysql_password", lambda v: f"mysqladmin -uroot -p{v} status"),
        ("redis_cli_password", lambda v: f"redis-cli -h cache.internal -a {v} ping"),
        ("sqlcmd_password", lambda v: f"sqlcmd -S db.internal -U sa -P {v} -Q 'SELECT 1'"),
        ("ldap_bind_password", lambda v: f"ldapsearch -x -D cn=admin,dc=acme,dc=com -w {v} -b dc=acme,dc=com"),
        ("zip_password", lambda v: f"zip -P {v} -r backup.zip ./data"),
        ("zip_password", lambda v: f"7z a -p{v} backup.7z ./data"),
        ("openssl_passphrase", lambda v: f"openssl rsa -in key.pem -passin pass:{v} -out plain.pem"),
        ("keytool_storepass", lambda v: f"keytool -list -keystore app.jks -storepass {v}"),
        ("smbclient_password", lambda v: f"smbclient //files/share -U backup%{v} -c ls"),
        ("lftp_password", lambda v: f"lftp -u deploy,{v} sftp://files.example.com"),
        ("xfreerdp_password", lambda v: f"xfreerdp /v:10.0.0.5 /u:admin /p:{v}"),
        ("psexec_password", lambda v: f"psexec \\\\srv01 -u admin -p {v} cmd"),
        ("wget_password", lambda v: f"wget --user=ci --password={v} https://files.example.com/a.tgz"),
        ("curl_user_password", lambda v: f"curl -u admin:{v} https://jenkins.example.com/api/json"),
    ]
    for kind, render in cli:
        for _ in range(2):
            value = password()
            add(kind, "command_line", value, render(value))

    for _ in range(3):  # a 40-hex key in prose: a key because of the words before it, not a commit
        key = r(HEX, 40)
        add("hex_api_key", "prose", key, f"Use the API key {key} for the export job.")
        key = r(HEX, 40)
        add("hex_api_key", "prose_token", key, f"my token is {key}, please keep it safe")
        key = r(HEX, 32)
        add("hex_api_key", "log_line", key, f"INFO configured analytics with key: {key}")

    for _ in range(3):  # secrets as JSON objects inside a text, not a whole JSON document
        value = r(ALNUM, 28)
        add(
            "json_embedded_secret",
            "response_log",
            value,
            f'got response {{"secret": {{"value": "{value}", "version": 3}}}} from vault',
        )
        value = r(ALNUM, 24)
        add(
            "json_embedded_secret",
            "credentials_list",
            value,
            f'Saved {{"credentials": ["{value}"], "user": "ci"}} to the cache',
        )
        value = password()
        add(
            "json_embedded_secret",
            "credentials_objects",
            value,
            f'config = {{"credentials": [{{"username": "ci", "password": "{value}"}}]}} # loaded',
        )
        value = r(ALNUM, 30)
        add(
            "json_embedded_secret",
            "escaped_in_json",
            value,
            json.dumps({"output": f'vault returned {{"secret": {{"data": "{value}"}}}}'}),
        )

    for _ in range(2):  # the same with values no entropy test would catch: only the key around them says it
        value = password()
        add(
            "json_embedded_secret",
            "response_log_word",
            value,
            f'got response {{"secret": {{"value": "{value}", "version": 3}}}} from vault',
        )
        value = password()
        add(
            "json_embedded_secret", "credentials_list_word", value, f'Saved {{"credentials": ["{value}"]}} to the cache'
        )
        value = password()
        add(
            "json_embedded_secret",
            "escaped_word",
            value,
            'vault said: {\\"secret\\": {\\"data\\": \\"' + value + '\\"}} (escaped)',
        )

    for _ in range(3):  # bearer tokens of letters only
        token = r(string.ascii_letters, 40)
        add("bearer_token", "prose_letters", token, f"I called it with Bearer {token} and got a 403")
        token = r(string.ascii_letters + "-_", 36)
        add("bearer_token", "header_letters", token, f"Authorization: Bearer {token}")
    return e


def main() -> None:
    entries = token_entries() + contextual_entries() + long_tail_entries()
    with OUT.open("w", encoding="utf-8") as handle:
        for i, (kind, context, secret, text) in enumerate(entries):
            assert secret in text, (kind, context)
            handle.write(json.dumps({"id": i, "kind": kind, "context": context, "secret": secret, "text": text}) + "\n")
    print(f"wrote {len(entries)} entries to {OUT}")


if __name__ == "__main__":
    main()
