#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/seeds/<target>/), taken from the cases the
test suite sends: tokens (valid, tampered, alg none, wrong typ/kid), cookie and header tricks,
request bodies, return_to attacks, config files, OIDC callbacks and logout tokens.
Run from anywhere: python3 fuzz/seeds/make_seeds.py (deterministic; the output is committed)."""
import base64, hashlib, hmac, json, os, shutil

HERE = os.path.dirname(os.path.abspath(__file__))
PUBLIC_URL = "http://127.0.0.1:3000"
SECRET = b"fuzz-session-secret-0123456789abcdef0123456789"
NOW = 1_800_000_000
SEP = b"\xff"


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def compact(v):
    return json.dumps(v, separators=(",", ":"))


def kid(secret):
    return b64(hashlib.sha256(b"auth-core kid v1:" + secret).digest()[:9])


def hs256(header, claims, secret=SECRET):
    signing = f"{b64(header.encode())}.{b64(claims.encode())}"
    sig = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{b64(sig)}"


def session_token(sub="u1", sid="s1", iat=NOW - 60, exp=NOW + 3600, secret=SECRET, **extra):
    # The spelling jsonwebtoken writes: header typ, alg, kid; claims in SessionClaims order.
    header = compact({"typ": "session+jwt", "alg": "HS256", "kid": kid(secret)})
    claims = {"iss": PUBLIC_URL, "aud": PUBLIC_URL, "sub": sub, "sid": sid, "iat": iat, "exp": exp}
    claims.update(extra)
    return hs256(header, compact(claims), secret)


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def main():
    for t in os.listdir(HERE):
        if os.path.isdir(os.path.join(HERE, t)):
            shutil.rmtree(os.path.join(HERE, t))

    # session_token: valid, expired, future iat, nbf, the other ring key, tampered, alg none,
    # HS512, wrong typ, no kid, padding, two dots only, oversized.
    good = session_token()
    tokens = {
        "valid": good,
        "valid-long-ids": session_token(sub="0" * 36, sid="f" * 43),
        "expired": session_token(iat=NOW - 7200, exp=NOW - 3600),
        "future-iat": session_token(iat=NOW + 600, exp=NOW + 4000),
        "nbf": session_token(nbf=NOW + 600),
        "exp-before-iat": session_token(iat=NOW, exp=NOW - 1),
        "empty-sid": session_token(sid=""),
        "other-key": session_token(secret=b"another-secret-of-the-ring-0123456789abcdef"),
        "unknown-key": session_token(secret=b"a-key-nobody-holds-0123456789abcdef012345"),
        "tampered-sig": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "tampered-claims": good.replace(".", ".x", 1),
        "padded": good + "==",
        "alg-none": f"{b64(compact({'typ': 'session+jwt', 'alg': 'none', 'kid': kid(SECRET)}).encode())}."
        f"{good.split('.')[1]}.",
        "hs512-header": f"{b64(compact({'typ': 'session+jwt', 'alg': 'HS512', 'kid': kid(SECRET)}).encode())}."
        + ".".join(good.split(".")[1:]),
        "typ-jwt": hs256(compact({"typ": "JWT", "alg": "HS256", "kid": kid(SECRET)}), good.split(".")[1]),
        "no-kid": hs256(compact({"typ": "session+jwt", "alg": "HS256"}), good.split(".")[1]),
        "jku-header": hs256(
            compact({"typ": "session+jwt", "alg": "HS256", "kid": kid(SECRET), "jku": "https://evil.example/jwks"}),
            good.split(".")[1],
        ),
        "string-exp": hs256(
            compact({"typ": "session+jwt", "alg": "HS256", "kid": kid(SECRET)}),
            compact({"iss": PUBLIC_URL, "aud": PUBLIC_URL, "sub": "u", "sid": "s", "iat": NOW, "exp": str(NOW + 60)}),
        ),
        "garbage": "not-a-jwt",
        "dots": "..",
        "big": "a." + "b" * 4000 + ".c",
    }
    for name, tok in tokens.items():
        write("session_token", name, tok)

    # guard: method, path, header lines; $TOKEN is the service's real token.
    guard = {
        "cookie": "cookie: auth_session=$TOKEN",
        "cookie-among-others": "cookie: theme=dark; auth_session=$TOKEN; lang=en",
        "two-cookie-headers": "cookie: a=1\ncookie: auth_session=$TOKEN",
        "prefixed-name": "cookie: xauth_session=$TOKEN",
        "bearer": "authorization: Bearer $TOKEN",
        "bearer-lower": "authorization: bearer $TOKEN",
        "basic": "authorization: Basic YTpi",
        "bearer-and-bad-cookie": "authorization: Bearer $TOKEN\ncookie: auth_session=forged",
        "bad-bearer-good-cookie": "authorization: Bearer forged\ncookie: auth_session=$TOKEN",
        "suffix": "cookie: auth_session=$TOKENx",
        "quoted": 'cookie: auth_session="$TOKEN"',
        "forged": "cookie: auth_session=" + tokens["other-key"],
        "empty": "cookie: auth_session=",
        "html": "accept: text/html\ncookie: auth_session=" + tokens["tampered-sig"],
    }
    for name, h in guard.items():
        write("guard", name, b"GET" + SEP + b"/api/hello" + SEP + h.encode())
    write("guard", "public-post", b"POST" + SEP + b"/health" + SEP + b"cookie: auth_session=$TOKEN")

    # headers: peer, query, header lines.
    hdrs = {
        "xff-trusted": ("10.0.0.1", "", "x-forwarded-for: 203.0.113.7, 10.0.0.2"),
        "xff-spoof-left": ("10.0.0.1", "", "x-forwarded-for: 1.2.3.4, 203.0.113.7"),
        "xff-garbage": ("10.0.0.1", "", "x-forwarded-for: 203.0.113.7, not-an-ip, 10.0.0.9"),
        "xff-v6": ("::1", "", "x-forwarded-for: 2001:db8::1"),
        "xff-untrusted-peer": ("198.51.100.1", "", "x-forwarded-for: 10.0.0.1"),
        "csrf-cross-site": ("127.0.0.1", "", "sec-fetch-site: cross-site\norigin: http://127.0.0.1:3000"),
        "csrf-same-origin": ("127.0.0.1", "", "sec-fetch-site: same-origin"),
        "csrf-origin-evil": ("127.0.0.1", "", "origin: https://evil.example"),
        "csrf-origin-null": ("127.0.0.1", "", "origin: null"),
        "csrf-origin-case": ("127.0.0.1", "", "origin: HTTP://127.0.0.1:3000"),
        "cookie-injection": ("127.0.0.1", "", "cookie: auth_session=a;auth_session=b"),
        "cookie-spaces": ("127.0.0.1", "", "cookie:    auth_session = x ;auth_session=y"),
        "query": ("127.0.0.1", "return_to=%2Fdash&return_to=%2F%2Fevil", "authorization: Bearer  x "),
    }
    for name, (peer, q, h) in hdrs.items():
        write("headers", name, SEP.join([peer.encode(), q.encode(), h.encode()]))

    # bodies: what the API tests and schemathesis send.
    bodies = {
        "signup": '{"email":"a@example.com","password":"correct horse battery staple","name":"A","organization":"Org"}',
        "login": '{"email":"a@example.com","password":"x"}',
        "reset": '{"token":"t","new_password":"p"}',
        "password": '{"current_password":"a","new_password":"b"}',
        "role": '{"role":"admin"}',
        "role-bad": '{"role":"owner"}',
        "invite": '{"email":"b@example.com"}',
        "accept": "{}",
        "nested": '{"email":{"$ne":null},"password":[1,2]}',
        "deep": "[" * 200 + "]" * 200,
        "unicode": '{"email":"\\ud800@example.com","password":"\\u0000"}',
        "dup-keys": '{"email":"a@example.com","email":"b@example.com","password":"x"}',
        "number-overflow": '{"role":1e999999}',
        "form-login": "email=a%40example.com&password=p%2Bq&csrf=x",
        "form-repeat": "email=a&email=b&password=",
        "form-bad-escape": "email=%zz&password=%&=x&&",
    }
    for name, b in bodies.items():
        write("bodies", name, b)

    # return_to: the test suite's hostile list and real ones.
    for i, r in enumerate([
        "/dash?x=1", "/api/hello", "//evil.com", "/\\evil.com", "https://evil.com", "/\t/evil.com", "evil",
        "/%0a", "/a\nb", "/.//evil.com", "/%2F%2Fevil.com", "/..//evil.com", "/\u3000/evil.com", "/\u200b/x",
        "/@evil.com", "/\\\\evil.com", "/x#//evil.com", "/?//evil.com", "/" + "a" * 3000,
    ]):
        write("return_to", f"case-{i:02}", r)

    # config: YAML SEP env lines.
    configs = {
        "minimal": ("publicUrl: https://app.example.com\n", ""),
        "full": (
            "publicUrl: https://app.example.com\ndatabase:\n  url: sqlite://data/auth.db\n  maxConnections: 5\n"
            "session:\n  cookieName: auth_session\n  idleTimeout: 7d\n  sameSite: Lax\n"
            "basicAuth:\n  enabled: true\n  validEmailDomain: example.com\n  argon2:\n    memoryKib: 19456\n"
            "oidc:\n  providers:\n    - id: okta\n      displayName: Okta\n      clientId: c\n"
            "      clientSecret: s3cr3t-value-0123\n      discoveryUrl: https://idp.example.com\n"
            "publicPaths: [/health, /static/*]\ntrustedProxies: [10.0.0.0/8]\nloginThrottle:\n  maxFailures: 5\n",
            "",
        ),
        "helm": ("backend:\n  config:\n    publicUrl: https://app.example.com\n  extraEnvVariables:\n"
                 "    - name: AUTH_JWT_SECRET\n      value: helm-secret-value-0123456789abcdef\n", ""),
        "env": ("", "AUTH_PUBLIC_URL=https://app.example.com\nAUTH_JWT_SECRET=short\nOIDC_VERIFY_SSL=maybe\n"
                "OIDC_CLIENT_SECRET=client-secret-value-0123\nOIDC_DISCOVERY_URL=ftp://x"),
        "type-errors": ("session:\n  cacheCapacity: 0\nbasicAuth:\n  argon2:\n    memoryKib: 1024\n  minPasswordLength: x\n"
                        "maxBodyBytes: -1\n", "AUTH_DATABASE_URL=postgres://u:hunter2-password-0123@db/x"),
        # A "secret" that is also a word of the error message (the fuzzer found this one: a
        # false alarm of the first version of the leak check).
        "secret-is-a-word": ("", "AUTH_PUBLIC_URL=htt\nOIDC_VERIFY_SSL=mb\nOIDC_CLIENT_SECRET=OIDC_VERIFY_SS"),
        "anchors": ("a: &a [*a]\n", ""),
        "billion-laughs": ("a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c]\n", ""),
        "tags": ("publicUrl: !!binary aGVsbG8=\nsession: !custom {}\n", ""),
        "durations": ("session:\n  idleTimeout: 99999999999d\n  absoluteTimeout: 0s\n  revalidateAfter: 1h\n", ""),
    }
    for name, (y, e) in configs.items():
        write("config", name, y.encode() + SEP + e.encode())

    # oidc_callback: query SEP cookie, or 0x01 then query and the flow's fields.
    cb = {
        "error": ("error=access_denied&state=x", "x"),
        "error-other": ("error=server_error&error_description=%3Cscript%3E", ""),
        "no-cookie": ("code=abc&state=s", ""),
        "forged-cookie": ("code=abc&state=s", "AAAA" * 20),
        "iss-mismatch": ("code=abc&state=s&iss=https%3A%2F%2Fevil.example", "x"),
    }
    for name, (q, c) in cb.items():
        write("oidc_callback", name, q.encode() + SEP + c.encode())
    flows = {
        "sealed-match": ("code=abc&state=st1", ["", "st1", "n1", "v1", "/api/hello", "", str(NOW)]),
        "sealed-now": ("code=abc&state=st2&iss=$ISS", ["", "st2", "n", "v", "/", "", "0"]),
        "sealed-other-provider": ("code=abc&state=st3", ["other", "st3", "n", "v", "/", "inv", str(NOW)]),
        "sealed-mismatch": ("code=abc&state=nope", ["", "st4", "n", "v", "//evil.com", "", str(NOW)]),
    }
    for name, (q, fields) in flows.items():
        write("oidc_callback", name, b"\x01" + SEP.join([q.encode()] + [f.encode() for f in fields]))

    # logout_token: raw forms, and 0x01 header SEP claims (signed by the harness with key a).
    raw = {
        "missing": "foo=bar",
        "not-jwt": "logout_token=abc",
        "unsigned": "logout_token=" + b64(b'{"alg":"none"}') + "." + b64(compact({"iss": "$ISS"}).encode()) + ".",
        "hs256": "logout_token=" + hs256(compact({"alg": "HS256", "kid": "a"}), compact({"iss": "$ISS"}), b"fuzz-client-secret-0123456789"),
        "repeat": "logout_token=a&logout_token=b",
    }
    for name, b in raw.items():
        write("logout_token", name, b)
    event = {"http://schemas.openid.net/event/backchannel-logout": {}}
    base = {"iss": "$ISS", "aud": "$AUD", "iat": 1_700_000_000, "exp": 4_102_444_800, "jti": "j1", "sid": "s1", "events": event}
    header = compact({"alg": "ES256", "typ": "logout+jwt", "kid": "e"})
    variants = {
        "valid": base,
        "sub-only": {**{k: v for k, v in base.items() if k != "sid"}, "sub": "user-1", "jti": "j2"},
        "nonce": {**base, "nonce": "n", "jti": "j3"},
        "no-event": {**{k: v for k, v in base.items() if k != "events"}, "jti": "j4"},
        "aud-list": {**base, "aud": ["other", "$AUD"], "jti": "j5"},
        "wrong-aud": {**base, "aud": "other", "jti": "j6"},
        "no-exp-old-iat": {**{k: v for k, v in base.items() if k != "exp"}, "jti": "j7"},
        "long-jti": {**base, "jti": "x" * 300},
        "event-not-object": {**base, "events": {"http://schemas.openid.net/event/backchannel-logout": 1}, "jti": "j8"},
    }
    for name, c in variants.items():
        write("logout_token", "signed-" + name, b"\x01" + header.encode() + SEP + compact(c).encode())
    write("logout_token", "signed-rs256", b"\x01" + compact({"alg": "RS256", "typ": "logout+jwt", "kid": "a"}).encode() + SEP + compact({**base, "jti": "j10"}).encode())
    write("logout_token", "signed-wrong-kid-alg", b"\x01" + compact({"alg": "ES256", "kid": "a"}).encode() + SEP + compact({**base, "jti": "j11"}).encode())
    write("logout_token", "signed-typ-jwt", b"\x01" + compact({"alg": "ES256", "typ": "JWT", "kid": "e"}).encode() + SEP + compact(base).encode())
    write("logout_token", "signed-no-kid", b"\x01" + compact({"alg": "ES256"}).encode() + SEP + compact({**base, "jti": "j9"}).encode())
    write("logout_token", "signed-unknown-kid", b"\x01" + compact({"alg": "ES256", "kid": "zz"}).encode() + SEP + compact(base).encode())


if __name__ == "__main__":
    main()
