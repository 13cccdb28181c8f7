//! A labelled corpus of secret shapes in realistic context lines, and of look-alikes that must
//! stay. Every sample is generated here from the documented shape of its token (prefix,
//! alphabet, length), with a fixed seed: no real secret, nothing copied from a scanner's tests.

/// A line (or block) with secrets that must not survive redaction.
pub struct Positive {
    pub family: &'static str,
    pub text: String,
    pub secrets: Vec<String>,
}

/// A line that must come out unchanged.
pub struct Negative {
    pub family: &'static str,
    pub text: String,
}

/// xorshift64*: deterministic samples.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        #[allow(clippy::cast_possible_truncation)]
        &items[(self.next() % items.len() as u64) as usize]
    }

    pub fn of(&mut self, charset: &str, n: usize) -> String {
        let chars: Vec<char> = charset.chars().collect();
        (0..n).map(|_| chars[(self.next() % chars.len() as u64) as usize]).collect()
    }

    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
}

pub const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
pub const DIGITS: &str = "0123456789";
pub const HEX: &str = "0123456789abcdef";
pub const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const UPPER_DIGIT: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub const BASE32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const PW_CHARS: &str = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%&*+?^_~";

/// A password as people pick them: words, digits, symbols; or random.
fn password(r: &mut Rng) -> String {
    match r.range(0, 2) {
        0 => format!(
            "{}{}{}",
            r.pick(&["Summer", "Tr0ub4dor", "correct-horse", "Winter", "Dragon", "Hunter"]),
            r.of(DIGITS, 3),
            r.pick(&["!", "#", "&3", "?", "$$"])
        ),
        1 => {
            let n = r.range(10, 24);
            r.of(PW_CHARS, n)
        }
        _ => format!("{}{}", r.of(LOWER, 6), r.of(DIGITS, 4)),
    }
}

fn user(r: &mut Rng) -> String {
    r.pick(&["ada", "linus", "grace", "margaret", "ken", "barbara", "dennis"]).to_string()
}

fn pem(r: &mut Rng, kind: &str, lines: usize) -> (String, Vec<String>) {
    let mut body: Vec<String> = (0..lines).map(|_| r.of(B64, 64)).collect();
    let last = r.of(B64, 20) + "==";
    body.push(last);
    let header = if kind == "PGP PRIVATE KEY BLOCK" { "Version: GnuPG v2\n\n".to_owned() } else { String::new() };
    let text = format!("-----BEGIN {kind}-----\n{header}{}\n-----END {kind}-----", body.join("\n"));
    (text, body)
}

/// A password with the characters a shell quotes: `$`, `&`, `;`, `,`, `"`, spaces.
fn shell_password(r: &mut Rng) -> String {
    format!(
        "{}{}{}{}",
        r.of(ALNUM, 4),
        r.pick(&["$", "&", ";", ",", "\"", " ", "!", "(", "|"]),
        r.of(PW_CHARS, 6),
        r.pick(&["$x", "&&", ";1", ",z", "\"q", " w", "!!", ")", "|"])
    )
}

/// A public certificate in PEM (its base64 must stay, next to a key that must not).
pub const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGVzIGFyZSBwdWJsaWMwCgYIKoZIzj0E\n-----END CERTIFICATE-----\n";

/// The part of a base64 PEM that is the key: its BEGIN and END lines encode the same text in
/// every PEM (a certificate's included).
fn pem_body(b64: &str) -> String {
    b64[44..b64.len() - 44].to_owned()
}

/// Standard base64 with padding.
pub fn base64(text: &str) -> String {
    let bytes = text.as_bytes();
    let alphabet = B64.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

type Gen = fn(&mut Rng) -> (String, Vec<String>);

/// One family: its name and generators of (text, secrets) in different contexts.
fn families() -> Vec<(&'static str, Vec<Gen>)> {
    vec![
        (
            "pem-private-key",
            vec![
                |r| {
                    let (k, s) = pem(r, "OPENSSH PRIVATE KEY", 6);
                    (format!("$ cat ~/.ssh/id_ed25519\n{k}\n$ "), s)
                },
                |r| {
                    let (k, s) = pem(r, "PRIVATE KEY", 8);
                    (format!("key.pem:\n{k}"), s)
                },
                |r| {
                    let (k, s) = pem(r, "ENCRYPTED PRIVATE KEY", 8);
                    (k, s)
                },
                |r| {
                    let (k, s) = pem(r, "EC PRIVATE KEY", 3);
                    (format!("writing EC key\n{k}\ndone"), s)
                },
                |r| {
                    let (k, s) = pem(r, "RSA PRIVATE KEY", 10);
                    (format!("{k}\n"), s)
                },
                |r| {
                    let (k, s) = pem(r, "PGP PRIVATE KEY BLOCK", 6);
                    (format!("gpg --export-secret-keys --armor\n{k}"), s)
                },
                |r| {
                    let body = r.of(B64, 64);
                    (format!("{{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n\"}}"), vec![body])
                },
            ],
        ),
        (
            "kubeconfig",
            vec![
                |r| {
                    let s = r.of(B64, 120);
                    (format!("    client-key-data: {s}"), vec![s])
                },
                |r| {
                    let s = r.of(B64, 100);
                    (format!("users:\n- name: admin\n  user:\n    client-key-data: {s}\n"), vec![s])
                },
                |r| {
                    let s = r.of(B64URL, 40);
                    (format!("    token: {s}"), vec![s])
                },
            ],
        ),
        (
            "docker-config",
            vec![
                |r| {
                    let s = r.of(B64, 28) + "==";
                    (format!("{{\"auths\":{{\"ghcr.io\":{{\"auth\":\"{s}\"}}}}}}"), vec![s])
                },
                |r| {
                    let s = r.of(B64, 32);
                    (format!("      \"auth\": \"{s}\","), vec![s])
                },
                |r| {
                    let s = r.of(B64URL, 60);
                    (format!("\"identitytoken\": \"{s}\""), vec![s])
                },
            ],
        ),
        (
            "curl-user",
            vec![
                |r| {
                    let p = password(r);
                    (format!("curl -u admin:{p} https://api.example.com/v1/items"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("$ curl -sS --user deploy:{p} -X POST https://ci.example.com/hook"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("wget --user=bob --password={p} https://files.example.com/a.tgz"), vec![p])
                },
            ],
        ),
        (
            "authorization-header",
            vec![
                |r| {
                    let s = r.of(ALNUM, 40);
                    (format!("curl -H \"Authorization: Bearer {s}\" https://api.example.com"), vec![s])
                },
                |r| {
                    let s = r.of(B64, 24) + "=";
                    (format!("> Authorization: Basic {s}"), vec![s])
                },
                |r| {
                    let s = r.of(B64URL, 48);
                    (format!("headers = {{'Authorization': 'Bearer {s}', 'Accept': 'application/json'}}"), vec![s])
                },
                |r| {
                    let s = r.of(ALNUM, 32);
                    (format!("authorization: token {s}"), vec![s])
                },
                |r| {
                    let s = r.of(B64URL, 36);
                    (format!("sending request with Bearer {s} to upstream"), vec![s])
                },
                |r| {
                    let s = r.of(ALNUM, 32);
                    (format!("X-Api-Key: {s}"), vec![s])
                },
            ],
        ),
        (
            "session-cookie",
            vec![
                |r| {
                    let a = r.of(ALNUM, 32);
                    let b = r.of(ALNUM, 64);
                    (format!("Cookie: sessionid={a}; csrftoken={b}"), vec![a, b])
                },
                |r| {
                    let a = r.of(B64URL, 40);
                    (format!("< Set-Cookie: connect.sid=s%3A{a}; Path=/; HttpOnly"), vec![a])
                },
                |r| {
                    let a = r.of(HEX, 32);
                    (format!("curl -b \"PHPSESSID={a}\" https://shop.example.com/cart"), vec![a])
                },
            ],
        ),
        (
            "password-assignment",
            vec![
                |r| {
                    let p = password(r);
                    (format!("  password: {p}"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("{{\"username\":\"svc\",\"password\":\"{p}\"}}"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("psql --host db --password {p}"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("export PGPASSWORD={p}"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("DB_PASSWORD=\"{p}\""), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("spring.datasource.password={p}"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("PASSWORD = '{p}'"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("DATABASE_URL=postgres://app:{p}@db.internal:5432/prod"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("'password' => '{p}',"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("ldapPassword: {p}"), vec![p])
                },
            ],
        ),
        (
            "mysql-p",
            vec![
                |r| {
                    let p = password(r).replace(['&', '!', '?', '$', '^', '*', '#', '~'], "x");
                    (format!("mysql -u root -p{p} -h db.internal prod"), vec![p])
                },
                |r| {
                    let p = r.of(ALNUM, 14);
                    (format!("mysqldump -uroot -p{p} shop > dump.sql"), vec![p])
                },
            ],
        ),
        (
            "azure",
            vec![
                |r| {
                    let k = r.of(B64, 86) + "==";
                    (format!("DefaultEndpointsProtocol=https;AccountName=acct01;AccountKey={k};EndpointSuffix=core.windows.net"), vec![k])
                },
                |r| {
                    let s = r.of(B64, 43) + "%3D";
                    (format!("https://acct01.blob.core.windows.net/data/file.csv?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-12-31T00:00:00Z&sig={s}"), vec![s])
                },
                |r| {
                    let s = format!("{}{}Q~{}", r.of(ALNUM, 3), r.of(DIGITS, 1), r.of(ALNUM, 34));
                    (format!("AZURE_CLIENT_SECRET={s}"), vec![s])
                },
            ],
        ),
        (
            "alibaba",
            vec![
                |r| {
                    let k = format!("LTAI{}", r.of(ALNUM, 20));
                    (format!("aliyun configure --access-key-id {k}"), vec![k])
                },
                |r| {
                    let s = r.of(ALNUM, 30);
                    (format!("alibaba_secret_key = {s}"), vec![s])
                },
            ],
        ),
        (
            "datadog",
            vec![
                |r| {
                    let k = r.of(HEX, 32);
                    (format!("DD_API_KEY={k}"), vec![k])
                },
                |r| {
                    let k = r.of(HEX, 40);
                    (format!("export DD_APP_KEY=\"{k}\""), vec![k])
                },
                |r| {
                    let k = r.of(HEX, 32);
                    (format!("datadog_api_key: {k}"), vec![k])
                },
            ],
        ),
        (
            "terraform-cloud",
            vec![
                |r| {
                    let t = format!("{}.atlasv1.{}", r.of(ALNUM, 14), r.of(B64URL, 67));
                    (format!("TFE_TOKEN={t}"), vec![t])
                },
                |r| {
                    let t = format!("{}.atlasv1.{}", r.of(ALNUM, 14), r.of(B64URL, 67));
                    (format!("  token = \"{t}\""), vec![t])
                },
            ],
        ),
        (
            "twilio",
            vec![
                |r| {
                    let k = format!("SK{}", r.of(HEX, 32));
                    (format!("twilio api:core:keys:create -> sid {k}"), vec![k])
                },
                |r| {
                    let k = r.of(HEX, 32);
                    (format!("TWILIO_AUTH_TOKEN={k}"), vec![k])
                },
            ],
        ),
        (
            "telegram",
            vec![
                |r| {
                    let t = format!("{}:AA{}", r.of(DIGITS, 10), r.of(B64URL, 33));
                    (format!("TELEGRAM_BOT_TOKEN={t}"), vec![t])
                },
                |r| {
                    let t = format!("{}:AA{}", r.of(DIGITS, 9), r.of(B64URL, 33));
                    (format!("GET https://api.telegram.org/bot{t}/getUpdates 200"), vec![t])
                },
            ],
        ),
        (
            "discord",
            vec![
                |r| {
                    let t = format!("M{}.{}.{}", r.of(B64URL, 25), r.of(B64URL, 6), r.of(B64URL, 38));
                    (format!("DISCORD_TOKEN={t}"), vec![t])
                },
                |r| {
                    let t = format!("N{}.{}.{}", r.of(B64URL, 23), r.of(B64URL, 6), r.of(B64URL, 27));
                    (format!("client.login(\"{t}\")"), vec![t])
                },
                |r| {
                    let t = format!("O{}.{}.{}", r.of(B64URL, 24), r.of(B64URL, 6), r.of(B64URL, 30));
                    (format!("[bot] logging in with {t}"), vec![t])
                },
            ],
        ),
        (
            "sentry",
            vec![
                |r| {
                    let k = r.of(HEX, 32);
                    (
                        format!("SENTRY_DSN=https://{k}@o{}.ingest.sentry.io/{}", r.of(DIGITS, 6), r.of(DIGITS, 7)),
                        vec![k],
                    )
                },
                |r| {
                    let t = format!("sntrys_{}", r.of(B64URL, 64));
                    (format!("SENTRY_AUTH_TOKEN={t}"), vec![t])
                },
            ],
        ),
        (
            "ai-providers",
            vec![
                |r| {
                    let t = format!("gsk_{}", r.of(ALNUM, 52));
                    (format!("GROQ_API_KEY={t}"), vec![t])
                },
                |r| {
                    let t = format!("pplx-{}", r.of(ALNUM, 48));
                    (format!("client = Perplexity(api_key=\"{t}\")"), vec![t])
                },
                |r| {
                    let t = format!("sk-proj-{}", r.of(B64URL, 48));
                    (format!("OPENAI_API_KEY={t}"), vec![t])
                },
                |r| {
                    let t = format!("sk-ant-api03-{}AA", r.of(B64URL, 93));
                    (format!("ANTHROPIC_API_KEY={t}"), vec![t])
                },
                |r| {
                    let t = format!("hf_{}", r.of(&(UPPER.to_owned() + LOWER), 34));
                    (format!("huggingface-cli login --token {t}"), vec![t])
                },
            ],
        ),
        (
            "heroku-dockerhub",
            vec![
                |r| {
                    let t = format!("HRKU-{}", r.of(B64URL, 60));
                    (format!("HEROKU_API_KEY={t}"), vec![t])
                },
                |r| {
                    let t = format!(
                        "{}-{}-{}-{}-{}",
                        r.of(HEX, 8),
                        r.of(HEX, 4),
                        r.of(HEX, 4),
                        r.of(HEX, 4),
                        r.of(HEX, 12)
                    );
                    (format!("heroku_api_key: {t}"), vec![t])
                },
                |r| {
                    let t = format!("dckr_pat_{}", r.of(B64URL, 27));
                    (format!("echo {t} | docker login -u ci --password-stdin"), vec![t])
                },
            ],
        ),
        (
            "1password",
            vec![
                |r| {
                    let t = format!(
                        "A3-{}-{}-{}-{}-{}",
                        r.of(UPPER_DIGIT, 6),
                        r.of(UPPER_DIGIT, 11),
                        r.of(UPPER_DIGIT, 5),
                        r.of(UPPER_DIGIT, 5),
                        r.of(UPPER_DIGIT, 5)
                    );
                    (format!("Secret Key: {t}"), vec![t])
                },
                |r| {
                    let t = format!("ops_eyJ{}", r.of(&(ALNUM.to_owned() + "+/"), 300));
                    (format!("OP_SERVICE_ACCOUNT_TOKEN={t}"), vec![t])
                },
            ],
        ),
        (
            "stripe",
            vec![
                |r| {
                    let t = format!("whsec_{}", r.of(ALNUM, 32));
                    (format!("STRIPE_WEBHOOK_SECRET={t}"), vec![t])
                },
                |r| {
                    let t = format!("sk_live_{}", r.of(ALNUM, 24));
                    (format!("stripe.api_key = \"{t}\""), vec![t])
                },
                |r| {
                    let t = format!("rk_live_{}", r.of(ALNUM, 24));
                    (format!("using restricted key {t}"), vec![t])
                },
            ],
        ),
        (
            "aws",
            vec![
                |r| {
                    let t = format!("AKIA{}", r.of(BASE32, 16));
                    (format!("aws_access_key_id = {t}"), vec![t])
                },
                |r| {
                    let t = r.of(B64, 40);
                    (format!("aws_secret_access_key = {t}"), vec![t])
                },
                |r| {
                    let t = r.of(B64, 40);
                    (format!("    \"SecretAccessKey\": \"{t}\","), vec![t])
                },
                |r| {
                    let t = r.of(B64, 320);
                    (format!("export AWS_SESSION_TOKEN={t}"), vec![t])
                },
                |r| {
                    let t = r.of(B64, 300);
                    (format!("    \"SessionToken\": \"{t}\","), vec![t])
                },
                |r| {
                    let t = format!("ASIA{}", r.of(BASE32, 16));
                    (format!("    \"AccessKeyId\": \"{t}\","), vec![t])
                },
            ],
        ),
        (
            "url-credentials",
            vec![
                |r| {
                    let p = password(r).replace(['@', '/', '#', '?'], "x");
                    (format!("git clone https://ada:{p}@git.example.com/team/repo.git"), vec![p])
                },
                |r| {
                    let p = r.of(ALNUM, 24);
                    (format!("REDIS_URL=redis://:{p}@cache.internal:6379/0"), vec![p])
                },
                |r| {
                    let p = r.of(ALNUM, 16);
                    (format!("amqp://guest:{p}@rabbit.internal:5672/"), vec![p])
                },
                |r| {
                    let t = format!("ghs_{}", r.of(ALNUM, 36));
                    (format!("remote: https://x-access-token:{t}@github.com/org/repo"), vec![t])
                },
            ],
        ),
        (
            "generic-secret",
            vec![
                |r| {
                    let s = r.of(ALNUM, 32);
                    (format!("CLIENT_SECRET={s}"), vec![s])
                },
                |r| {
                    let s = r.of(HEX, 32);
                    (format!("SLACK_SIGNING_SECRET={s}"), vec![s])
                },
                |r| {
                    let s = r.of(B64, 44);
                    (format!("JWT_SECRET: {s}"), vec![s])
                },
                |r| {
                    let s = r.of(ALNUM, 40);
                    (format!("export APP_TOKEN={s}"), vec![s])
                },
                |r| {
                    let s = r.of(B64URL, 43);
                    (format!("ENCRYPTION_KEY=\"{s}\""), vec![s])
                },
                |r| {
                    let s = r.of(ALNUM, 36);
                    (format!("api_key: {s}"), vec![s])
                },
                |r| {
                    let s = r.of(ALNUM, 32);
                    (format!("[default]\nsecret = {s}"), vec![s])
                },
            ],
        ),
        (
            "json-credentials",
            vec![
                |r| {
                    let s = r.of(B64URL, 64);
                    (format!("{{\"refresh_token\": \"{s}\"}}"), vec![s])
                },
                |r| {
                    let a = r.of(B64URL, 80);
                    (format!("{{\"access_token\":\"{a}\",\"token_type\":\"Bearer\",\"expires_in\":3600}}"), vec![a])
                },
                |r| {
                    let id = format!("eyJ{}.eyJ{}.{}", r.of(B64URL, 30), r.of(B64URL, 60), r.of(B64URL, 43));
                    let rt = format!("rt_{}", r.of(B64URL, 48));
                    (format!("{{\"OPENAI_API_KEY\": null, \"tokens\": {{\"id_token\": \"{id}\", \"refresh_token\": \"{rt}\", \"account_id\": \"acct\"}}}}"), vec![id, rt])
                },
                |r| {
                    let p = password(r);
                    (format!("{{\"password\":\"{p}\"}}"), vec![p])
                },
                |r| {
                    let s = r.of(ALNUM, 40);
                    (format!("{{\"accessToken\": \"{s}\", \"user\": \"svc\"}}"), vec![s])
                },
            ],
        ),
        (
            "known-shapes",
            vec![
                |r| {
                    let t = format!("ghp_{}", r.of(ALNUM, 36));
                    (format!("GITHUB_TOKEN={t}"), vec![t])
                },
                |r| {
                    let t = format!("github_pat_{}", r.of(&(ALNUM.to_owned() + "_"), 82));
                    (format!("gh auth login --with-token < {t}"), vec![t])
                },
                |r| {
                    let t = format!("glpat-{}", r.of(B64URL, 20));
                    (format!("CI_JOB_TOKEN={t}"), vec![t])
                },
                |r| {
                    let t = format!("xoxb-{}-{}-{}", r.of(DIGITS, 11), r.of(DIGITS, 12), r.of(ALNUM, 24));
                    (format!("slack bot token {t}"), vec![t])
                },
                |r| {
                    let t = format!("AIza{}", r.of(B64URL, 35));
                    (format!("https://maps.googleapis.com/maps/api/js?key={t}"), vec![t])
                },
                |r| {
                    let t = format!("eyJ{}.eyJ{}.{}", r.of(B64URL, 20), r.of(B64URL, 40), r.of(B64URL, 43));
                    (format!("jwt={t}"), vec![t])
                },
                |r| {
                    let t = format!("npm_{}", r.of(ALNUM, 36));
                    (format!("//registry.npmjs.org/:_authToken={t}"), vec![t])
                },
                |r| {
                    let t = format!("SG.{}.{}", r.of(B64URL, 22), r.of(B64URL, 43));
                    (format!("SENDGRID_API_KEY={t}"), vec![t])
                },
                |r| {
                    let t = format!(
                        "https://hooks.slack.com/services/T{}/B{}/{}",
                        r.of(UPPER_DIGIT, 8),
                        r.of(UPPER_DIGIT, 10),
                        r.of(ALNUM, 24)
                    );
                    let s = t[33..].to_owned();
                    (format!("posting to {t}"), vec![s])
                },
            ],
        ),
        (
            "cli-password-flag",
            vec![
                |r| {
                    let p = shell_password(r);
                    (format!("mysql -u root -p'{p}' -h db.internal prod"), vec![p])
                },
                |r| {
                    let p = shell_password(r).replace('"', "'");
                    (format!("mysqldump -uroot -p\"{p}\" shop > dump.sql"), vec![p])
                },
                |r| {
                    let p = shell_password(r);
                    (format!("sshpass -p '{p}' ssh deploy@10.0.0.5 uptime"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("sshpass -p{p} scp build.tgz deploy@files.internal:"), vec![p])
                },
                |r| {
                    let p = r.of(ALNUM, 20);
                    (format!("redis-cli -h cache.internal -p 6379 -a {p} ping"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("ldapsearch -x -D \"cn=admin,dc=corp\" -w {p} -b dc=corp"), vec![p])
                },
                |r| {
                    let p = shell_password(r);
                    (format!("sqlcmd -S db01 -U sa -P '{p}' -Q \"select 1\""), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("docker login -u ci -p {p} registry.corp.io"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("openssl pkcs12 -export -in a.crt -inkey a.key -passout pass:{p} -out a.p12"), vec![p])
                },
                |r| {
                    let p = password(r).replace('%', "x");
                    (format!("smbclient //fs01/share -U ada%{p} -c ls"), vec![p])
                },
            ],
        ),
        (
            "xml-attribute",
            vec![
                |r| {
                    let p = password(r);
                    (format!("    <add key=\"DbPassword\" value=\"{p}\" />"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("<add key=\"Password\" value=\"{p}\"/>"), vec![p])
                },
                |r| {
                    let s = r.of(HEX, 32);
                    (format!("<setting name=\"ApiToken\" value=\"{s}\" />"), vec![s])
                },
                |r| {
                    let p = password(r);
                    (format!("<property name=\"jdbc.password\" value=\"{p}\"/>"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("<Password>{p}</Password>"), vec![p])
                },
            ],
        ),
        (
            "password-special-characters",
            vec![
                |r| {
                    let p = shell_password(r).replace('"', "'");
                    (format!("password=\"{p}\""), vec![p])
                },
                |r| {
                    let p = shell_password(r).replace('\'', "\"");
                    (format!("DB_PASS='{p}'"), vec![p])
                },
                |r| {
                    let p = format!("{}$%&!{}", r.of(ALNUM, 5), r.of(ALNUM, 5));
                    (format!("password={p}"), vec![p])
                },
            ],
        ),
        (
            "azure-context",
            vec![
                |r| {
                    let k = r.of(B64, 86) + "==";
                    (
                        format!("az storage blob upload --account-name acct01 --account-key {k} -f a.txt -c data"),
                        vec![k],
                    )
                },
                |r| {
                    let k = r.of(B64, 86) + "==";
                    (format!("    \"primaryKey\": \"{k}\","), vec![k])
                },
                |r| {
                    let k = r.of(B64, 86) + "==";
                    (format!("AZURE_STORAGE_KEY={k}"), vec![k])
                },
                |r| {
                    let k = r.of(B64, 86) + "==";
                    (format!("  {{\"keyName\": \"key1\", \"permissions\": \"FULL\", \"value\": \"{k}\"}}"), vec![k])
                },
            ],
        ),
        (
            "aws-configure",
            vec![
                |r| {
                    let t = r.of(B64, 40);
                    (format!("aws configure set aws_secret_access_key {t}"), vec![t])
                },
                |r| {
                    let t = r.of(B64, 40);
                    (
                        format!(
                            "$ aws configure set profile.ci.aws_secret_access_key {t} && aws sts get-caller-identity"
                        ),
                        vec![t],
                    )
                },
                |r| {
                    let t = r.of(B64, 200);
                    (format!("aws configure set aws_session_token {t}"), vec![t])
                },
            ],
        ),
        (
            "key-in-error-message",
            vec![
                |r| {
                    let k = r.of(HEX, 32);
                    (format!("2026-12-07T10:01:02Z ERROR API key invalid: {k}"), vec![k])
                },
                |r| {
                    let k = r.of(ALNUM, 24);
                    (format!("401 Unauthorized: invalid token {k}"), vec![k])
                },
                |r| {
                    let k = r.of(ALNUM, 32);
                    (format!("[warn] rejected request: api key {k} is not valid"), vec![k])
                },
                |r| {
                    let k = r.of(HEX, 40);
                    (format!("Error: The access token provided is expired: {k}"), vec![k])
                },
            ],
        ),
        (
            "netrc",
            vec![
                |r| {
                    let p = password(r);
                    (format!("machine api.github.com login ada password {p}"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("machine git.corp.io\n  login deploy\n  password {p}\n"), vec![p])
                },
                |r| {
                    let p = password(r);
                    (format!("default login anonymous password {p}"), vec![p])
                },
            ],
        ),
        (
            "app-key-env",
            vec![
                |r| {
                    let k = r.of(B64, 43) + "=";
                    (format!("APP_KEY=base64:{k}"), vec![k])
                },
                |r| {
                    let k = r.of(HEX, 128);
                    (format!("SECRET_KEY_BASE={k}"), vec![k])
                },
                |r| {
                    let k = r.of(ALNUM, 32);
                    (format!("APP_SECRET={k}"), vec![k])
                },
                |r| {
                    let k = r.of(B64, 43) + "=";
                    (format!("NEXTAUTH_SECRET=\"{k}\""), vec![k])
                },
            ],
        ),
        (
            "kubernetes-secret",
            vec![
                |r| {
                    let (k, _) = pem(r, "PRIVATE KEY", 6);
                    let b = base64(&k);
                    (format!("data:\n  tls.crt: {}\n  tls.key: {b}\n", base64(CERT)), vec![pem_body(&b)])
                },
                |r| {
                    let (k, _) = pem(r, "RSA PRIVATE KEY", 6);
                    let b = base64(&k);
                    (format!("  ssh-privatekey: {b}"), vec![pem_body(&b)])
                },
                |r| {
                    let (k, _) = pem(r, "EC PRIVATE KEY", 3);
                    let b = base64(&k);
                    (
                        format!("{{\"apiVersion\":\"v1\",\"data\":{{\"key.pem\":\"{b}\"}},\"kind\":\"Secret\"}}"),
                        vec![pem_body(&b)],
                    )
                },
            ],
        ),
        (
            "local-path",
            vec![
                |r| {
                    let u = user(r);
                    (format!("./configure --prefix=/home/{u}/.local"), vec![format!("/home/{u}")])
                },
                |r| {
                    let _ = r;
                    ("HOME=/root".to_owned(), vec!["/root".to_owned()])
                },
                |r| {
                    let u = user(r);
                    (format!("open file:///home/{u}/report.html"), vec![format!("/home/{u}")])
                },
                |r| {
                    let u = user(r);
                    (format!("ls ~{u}/projects"), vec![format!("~{u}")])
                },
                |r| {
                    let u = user(r);
                    (
                        format!("saved \"/home/{u}/My Documents/plan v2.txt\""),
                        vec![format!("/home/{u}"), "My Documents".to_owned()],
                    )
                },
                |r| {
                    let u = user(r);
                    (format!("  File \"/home/{u}/proj/app.py\", line 3, in <module>"), vec![format!("/home/{u}")])
                },
                |r| {
                    let d = r.of(LOWER, 8);
                    (format!("unpacked to /tmp/tmp{d}/pkg"), vec![format!("/tmp/tmp{d}")])
                },
                |r| {
                    let u = user(r);
                    (format!("PATH=/usr/local/bin:/usr/bin:/home/{u}/.cargo/bin"), vec![format!("/home/{u}")])
                },
            ],
        ),
    ]
}

/// Every positive sample: `per_context` per generator.
pub fn positives(per_context: usize) -> Vec<Positive> {
    let mut r = Rng::new(0x5eed_1234);
    let mut out = Vec::new();
    for (family, gens) in families() {
        for g in gens {
            for _ in 0..per_context {
                let (text, secrets) = g(&mut r);
                out.push(Positive { family, text, secrets });
            }
        }
    }
    out
}

/// Whether `secret` survived in `out`: whole, or any 8-character piece of a longer one.
pub fn leaked(secret: &str, out: &str) -> bool {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 10 {
        return out.contains(secret);
    }
    chars.windows(8).any(|w| out.contains(&w.iter().collect::<String>()))
}

/// Look-alikes that must stay.
pub fn negatives() -> Vec<Negative> {
    let mut r = Rng::new(0xbeef_5678);
    let mut out = Vec::new();
    let mut add = |family: &'static str, text: String| out.push(Negative { family, text });
    for _ in 0..3 {
        add("hashes", format!("sha256:{}  pkg-1.2.3.tar.gz", r.of(HEX, 64)));
        add("hashes", format!("commit {}", r.of(HEX, 40)));
        add("hashes", format!("HEAD is now at {} Fix the parser", r.of(HEX, 7)));
        add("hashes", format!("md5sum: {}", r.of(HEX, 32)));
        add("hashes", format!("integrity sha512-{}==", r.of(B64, 86)));
        add(
            "ids",
            format!("request_id={}-{}-{}-{}-{}", r.of(HEX, 8), r.of(HEX, 4), r.of(HEX, 4), r.of(HEX, 4), r.of(HEX, 12)),
        );
        add("ids", format!("x-request-id: {}", r.of(HEX, 32)));
        add("ids", format!("trace_id: {} span_id: {}", r.of(HEX, 32), r.of(HEX, 16)));
        add("ids", format!("build-id {}", r.of(HEX, 40)));
        add("ids", format!("container {} started", r.of(HEX, 12)));
        add("base64", format!("data:image/png;base64,{}", r.of(B64, 60)));
        add("base64", format!("Content-MD5: {}==", r.of(B64, 22)));
        add("base64", format!("etag: \"{}\"", r.of(B64URL, 27)));
    }
    for line in [
        "rustc 1.95.0 (59807616e 2026-04-14)",
        "   Compiling regex v1.13.2",
        "node v20.20.2, npm 11.19.1",
        "Build 2026.11.30.1234 finished in 42.1s",
        "version: 0.171.0",
        "API_KEY=${API_KEY}",
        "password: \"{{ vault_db_password }}\"",
        "token: <your-token>",
        "SECRET=xxxxxxxxxxxx",
        "password=changeme",
        "TOKEN=REPLACE_ME",
        "set PASSWORD=%PASSWORD%",
        "db.password=@DB_PASSWORD@",
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "password: ********",
        "export GITHUB_TOKEN=$GITHUB_TOKEN",
        "token: ${{ secrets.DEPLOY_TOKEN }}",
        "OPENAI_API_KEY=your-api-key-here",
        "Please enter your password to continue.",
        "The token expires after one hour.",
        "Rotate the API key every 90 days.",
        "We store secrets in the vault, never in git.",
        "Use a password manager for shared accounts.",
        "the access token is refreshed automatically",
        "Password reset emails are sent from noreply@example.com.",
        "tokens per second: 42.5",
        "Authentication required: run codex login",
        "Bearer tokens are sent in the Authorization header.",
        "/usr/lib/x86_64-linux-gnu/libssl.so.3",
        "include /etc/nginx/nginx.conf;",
        "cat /proc/self/status",
        "#!/usr/bin/env python3",
        "command > /dev/null 2>&1",
        "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus",
        "/opt/homebrew/bin/git --version",
        "  File \"/usr/lib/python3.11/json/__init__.py\", line 346, in loads",
        "src/main.rs:12:5: warning: unused variable",
        "./scripts/test",
        "see ../docs/README.md",
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "max_tokens: 4096",
        "tokenizer: cl100k_base",
        "primary_key: id",
        "sort_key = created_at",
        "key_count=12",
        "cache_key: user:42",
        "\"token_type\": \"Bearer\",",
        "session_timeout=3600",
        "{\"level\":\"info\",\"msg\":\"request done\",\"duration_ms\":12,\"status\":200}",
        "docker run -p 8080:80 nginx:1.25",
        "kubectl get pods -n default",
        "kubectl describe pod web-7d9c5b6f8-abcde",
        "https://github.com/org/repo/pull/123",
        "See https://docs.example.com/a/b?x=1&y=2",
        "2026-11-30T23:12:00Z INFO server listening on 0.0.0.0:8080",
        "error: could not find `Cargo.toml` in `src` or any parent directory",
        "test result: ok. 12 passed; 0 failed",
        "passed: 12, failed: 0",
        "secret_count: 3",
        "auth: enabled",
        "password_policy: strong",
        "--password-stdin",
        "key: value",
        "foo=bar baz=qux",
        "git push origin main",
        "Merge pull request #123 from org/feature-branch",
        "npm warn deprecated inflight@1.0.6",
        "ssh -i id_ed25519 git@github.com",
        "The client secret is stored in the keychain.",
        "Use `--token` to pass a token.",
        "curl https://api.example.com/health",
        "Set-Cookie: theme=dark; Path=/",
        "Cookie consent banner shown",
        "mysql -u root -p shop",
        "Bearer",
    ] {
        add("misc", line.to_owned());
    }
    for _ in 0..3 {
        add("stripe-publishable", format!("STRIPE_PUBLISHABLE_KEY=pk_live_{}", r.of(ALNUM, 24)));
        add("stripe-publishable", format!("Stripe('pk_test_{}')", r.of(ALNUM, 24)));
        add("stripe-publishable", format!("  \"publishableKey\": \"pk_live_{}\",", r.of(ALNUM, 99)));
    }
    for line in CODE_AND_CONFIG {
        add("code-config", (*line).to_owned());
    }
    for _ in 0..LOG_ROUNDS {
        for (family, make) in log_shapes() {
            add(family, make(&mut r));
        }
    }
    out
}

/// How many times each log shape is drawn: enough for as many negatives as positives.
const LOG_ROUNDS: usize = 7;

/// Code, config and tool output that names secrets without holding one.
const CODE_AND_CONFIG: &[&str] = &[
        "max_password_length = 128",
        "token_endpoint: https://auth.example.com/oauth/token",
        "\"tokenUrl\": \"https://auth.example.com/oauth2/token\",",
        "secretName: web-tls",
        "  secretKeyRef:",
        "    name: db-credentials",
        "    key: password",
        "kubectl create secret generic db-creds --from-literal=username=admin",
        "The key fingerprint is SHA256:Xq3vR9mK2pL7sT4wY6zC8bN1dF5gH0jA3eU9iO2kP4",
        "Merge branch 'fix/token-expiry' into main",
        "npm ERR! code E401",
        "npm ERR! Unable to authenticate, need: Basic realm=\"GitHub Package Registry\"",
        "Using cached PyJWT-2.8.0-py3-none-any.whl (22 kB)",
        "export KUBECONFIG=$HOME/.kube/config",
        "API key: not set",
        "token: null",
        "\"apiKey\": \"\",",
        "error[E0425]: cannot find value `api_key` in this scope",
        "    Expected: \"secret\"",
        "    Received: \"token\"",
        "E       AssertionError: assert 'token' == 'secret'",
        "GET /login?next=/dashboard&tab=keys HTTP/1.1",
        "secret \"api-credentials\" deleted",
        "Set the token in your environment before running the tests.",
        "The API key must be 32 characters long.",
        "password must contain at least one symbol",
        "session_id=42 user=ada action=login",
        "auth_method: oauth2",
        "passwordless: true",
        "pass_rate: 0.98",
        "Passed: 120  Failed: 0  Skipped: 3",
        "password_hash: $argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        "keyboard-interactive authentication succeeded",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "Accepted publickey for git from 10.0.0.7 port 52144 ssh2: ED25519 SHA256:Xq3vR9mK2pL7sT4wY6zC8bN1dF5gH0jA3eU9iO2kP4",
        "git-credential-manager: token cached for github.com",
        "  --token-file ./token.txt",
        "--api-key-file=secrets/api.key",
        "Enter passphrase for key 'id_ed25519':",
        "keyring.get_password(\"svc\", \"ada\")",
        "getpass.getpass(\"Password: \")",
        "tokenizer_config.json: 100%|██████████| 1.2k/1.2k",
        "ssl_certificate_key /etc/ssl/private/server.key;",
        "Updated secret \"billing-api-key\" in namespace \"prod\"",
        "INFO  tokens used: prompt=1234 completion=56 total=1290",
        "config.api_key is None; falling back to anonymous access",
        "if token == expected_token:",
        "const token = await getToken();",
        "let password = prompt_password()?;",
        "assert_eq!(token.len(), 32);",
        "secrets: inherit",
        "permissions: id-token: write",
        "uses: actions/checkout@v4 with: token: ${{ secrets.GITHUB_TOKEN }}",
        "POSTGRES_PASSWORD_FILE=/run/secrets/db_password",
        "vault kv get -field=password secret/db",
        "aws secretsmanager get-secret-value --secret-id prod/db",
        "gpg --list-secret-keys --keyid-format=long",
        "sec   ed25519/3AA5C34371567BD2 2026-01-01 [SC]",
        "Author: Ada Lovelace <ada@analytical.engine>",
        "Date:   Mon Dec 7 10:01:02 2026 +0000",
        "diff --git a/src/auth/token.rs b/src/auth/token.rs",
        "@@ -12,7 +12,7 @@ fn refresh_token(&self) -> Result<Token> {",
        "-    let token = self.cache.get(key)?;",
        "+    let token = self.cache.get(&key)?;",
];

fn uuid(r: &mut Rng) -> String {
    format!("{}-{}-4{}-a{}-{}", r.of(HEX, 8), r.of(HEX, 4), r.of(HEX, 3), r.of(HEX, 3), r.of(HEX, 12))
}

fn word(r: &mut Rng) -> &'static str {
    let w: &&'static str =
        r.pick(&["auth", "token", "session", "password", "secret", "billing", "api", "key", "user", "cache", "login"]);
    w
}

fn crate_name(r: &mut Rng) -> &'static str {
    let w: &&'static str = r.pick(&[
        "serde",
        "tokio",
        "regex",
        "secrecy",
        "keyring",
        "jsonwebtoken",
        "oauth2",
        "argon2",
        "rustls",
        "hyper",
    ]);
    w
}

type Shape = fn(&mut Rng) -> String;

/// Innocent lines as real tools print them: placeholders and references, ids, keyword-laden
/// prose and identifiers, device paths, build logs, test runners, HTTP access logs, git,
/// package managers and Kubernetes events. Random parts differ on every draw.
fn log_shapes() -> Vec<(&'static str, Shape)> {
    vec![
        // Placeholders and references: where a secret would go, none is.
        ("placeholder", |r| format!("API_KEY={}", "x".repeat(r.range(16, 40)))),
        ("placeholder", |r| format!("export STRIPE_SECRET_KEY=sk_live_{}", "x".repeat(r.range(20, 30)))),
        ("placeholder", |r| {
            format!("token: {}", ["xxxx"; 4].join("-").replace('x', if r.range(0, 1) == 0 { "x" } else { "X" }))
        }),
        ("placeholder", |r| format!("GITHUB_TOKEN=your-{}-token", word(r))),
        ("placeholder", |r| format!("Authorization: Bearer your-{}-token-here", word(r))),
        ("placeholder", |r| format!("api_key = os.environ[\"{}_API_KEY\"]", word(r).to_uppercase())),
        ("placeholder", |r| format!("token = os.getenv(\"{}_TOKEN\")", word(r).to_uppercase())),
        ("placeholder", |r| format!("const apiKey = process.env.{}_API_KEY;", word(r).to_uppercase())),
        ("placeholder", |r| format!("  password: ${{{}_PASSWORD}}", word(r).to_uppercase())),
        ("placeholder", |r| format!("secret_key = settings.{}_SECRET_KEY", word(r).to_uppercase())),
        ("placeholder", |r| format!("client_secret: \"{{{{ .Values.{}.clientSecret }}}}\"", word(r))),
        ("placeholder", |r| format!("password = ENV.fetch(\"{}_PASSWORD\")", word(r).to_uppercase())),
        // Ids that are UUIDs or hex, in the places logs put them.
        ("uuid-id", |r| format!("X-Request-Id: {}", uuid(r))),
        ("uuid-id", |r| format!("{{\"level\":\"info\",\"requestId\":\"{}\",\"msg\":\"token refreshed\"}}", uuid(r))),
        ("uuid-id", |r| format!("trace_id={} span_id={} user_id={}", uuid(r), r.of(HEX, 16), r.range(1, 99999))),
        ("uuid-id", |r| {
            format!(
                "heroku[router]: at=info method=GET path=\"/\" host=app.herokuapp.com request_id={} fwd=\"10.1.2.{}\" dyno=web.1 connect=0ms service={}ms status=200 bytes=1234",
                uuid(r),
                r.range(1, 254),
                r.range(1, 900)
            )
        }),
        ("uuid-id", |r| format!("correlation-id: {} session: started", uuid(r))),
        ("uuid-id", |r| format!("Created API key {} for project billing (value shown once)", uuid(r))),
        // Keywords in prose and identifiers.
        ("keyword-prose", |r| {
            format!(
                "--- PASS: Test{}Hash ({}.0{}s)",
                ["Password", "Token", "Secret"][r.range(0, 2)],
                r.range(0, 3),
                r.range(1, 9)
            )
        }),
        ("keyword-prose", |r| format!("test_{}_reset_sends_email PASSED", word(r))),
        ("keyword-prose", |r| format!("test {}::tests::expired_token_is_refused ... ok", word(r))),
        ("keyword-prose", |r| format!("  ✓ rejects an invalid {} ({} ms)", word(r), r.range(1, 90))),
        ("keyword-prose", |r| format!("Your {} token expired; run login again", word(r))),
        ("keyword-prose", |r| {
            format!(
                "token_count: {} prompt_tokens={} completion_tokens={}",
                r.range(10, 9000),
                r.range(10, 9000),
                r.range(1, 900)
            )
        }),
        ("keyword-prose", |r| format!("session_key_rotation_interval: {}", r.range(60, 86400))),
        ("keyword-prose", |r| format!("The password you entered for {} is incorrect.", user(r))),
        ("keyword-prose", |r| format!("fn validate_{}_length(input: &str) -> bool", word(r))),
        ("rest-path", |r| format!("GET /api/v1/tokens?page={} 200 {}ms", r.range(1, 50), r.range(1, 400))),
        ("rest-path", |r| format!("DELETE /secrets/db-password 204 {}ms", r.range(1, 400))),
        ("rest-path", |r| format!("POST /users/{}/api-keys 201", r.range(1, 99999))),
        // Device paths.
        ("device-path", |r| format!("mount /dev/sda{} /mnt", r.range(1, 9))),
        ("device-path", |r| format!("/dev/nvme0n1p{} on / type ext4 (rw,relatime)", r.range(1, 9))),
        ("device-path", |r| format!("/dev/mapper/vg{}-root  50G  {}G  30G  40% /", r.range(0, 3), r.range(1, 20))),
        // Build logs.
        ("build-log", |r| {
            format!("   Compiling {} v{}.{}.{}", crate_name(r), r.range(0, 3), r.range(0, 30), r.range(0, 9))
        }),
        ("build-log", |r| format!("warning: unused variable: `{}_token`", word(r))),
        ("build-log", |r| format!("  --> src/{}/mod.rs:{}:{}", word(r), r.range(1, 500), r.range(1, 80))),
        ("build-log", |r| format!("gcc -O2 -Wall -c src/{}.c -o build/{}.o", word(r), word(r))),
        ("build-log", |r| {
            format!(
                "[{:>3}%] Building CXX object src/CMakeFiles/{}.dir/{}_store.cpp.o",
                r.range(1, 100),
                word(r),
                word(r)
            )
        }),
        ("build-log", |r| {
            format!("    Finished `release` profile [optimized] target(s) in {}.{}s", r.range(1, 300), r.range(0, 99))
        }),
        ("build-log", |r| {
            format!("#{} [builder {}/7] RUN cargo build --release --locked", r.range(1, 30), r.range(1, 7))
        }),
        ("build-log", |r| {
            format!("#{} sha256:{} {}B / {}B done", r.range(1, 30), r.of(HEX, 64), r.range(1, 9999), r.range(1, 9999))
        }),
        // Test runners.
        ("test-runner", |r| {
            format!("tests/test_{}.py::test_{}_refresh PASSED [ {}%]", word(r), word(r), r.range(1, 99))
        }),
        ("test-runner", |r| format!("test {}::{}_round_trip ... ok", crate_name(r), word(r))),
        ("test-runner", |r| {
            format!("PASS  src/{}/{}.test.ts ({}.{} s)", word(r), word(r), r.range(0, 9), r.range(0, 999))
        }),
        ("test-runner", |r| format!("ok  \tgithub.com/org/svc/internal/{}\t0.{}s", word(r), r.range(10, 999))),
        ("test-runner", |r| {
            format!(
                "test result: ok. {} passed; 0 failed; {} ignored; finished in {}.{}s",
                r.range(1, 400),
                r.range(0, 9),
                r.range(0, 99),
                r.range(0, 99)
            )
        }),
        // HTTP access logs.
        ("http-access", |r| {
            format!(
                "10.0.{}.{} - - [07/Dec/2026:10:{:02}:{:02} +0000] \"GET /api/v1/{}s?page={} HTTP/1.1\" 200 {} \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"",
                r.range(0, 255),
                r.range(1, 254),
                r.range(0, 59),
                r.range(0, 59),
                word(r),
                r.range(1, 40),
                r.range(100, 99999)
            )
        }),
        ("http-access", |r| {
            format!(
                "{} - {} [07/Dec/2026:11:02:03 +0000] \"POST /oauth/token HTTP/2.0\" 200 {} {}ms",
                r.of(DIGITS, 2) + ".1.2.3",
                user(r),
                r.range(100, 9999),
                r.range(1, 500)
            )
        }),
        ("http-access", |r| {
            format!(
                "time=2026-12-07T10:01:02Z method=PUT path=/v2/{}/{} status=204 duration={}ms",
                word(r),
                r.range(1, 9999),
                r.range(1, 500)
            )
        }),
        // git.
        ("git", |r| format!(" * [new branch]      feature/{}-refresh -> origin/feature/{}-refresh", word(r), word(r))),
        ("git", |r| format!("[main {}] Rotate the {} key handling", r.of(HEX, 7), word(r))),
        ("git", |r| format!(" src/{}/password.rs | {} ++++++------", word(r), r.range(1, 90))),
        ("git", |r| format!("   {}..{}  main -> main", r.of(HEX, 7), r.of(HEX, 7))),
        ("git", |r| format!("index {}..{} 100644", r.of(HEX, 12), r.of(HEX, 12))),
        ("git", |r| format!("Author: {} <{}@users.noreply.github.com>", user(r), user(r))),
        // Package managers.
        ("package-manager", |r| {
            format!(
                "added {} packages, and audited {} packages in {}s",
                r.range(1, 900),
                r.range(1, 900),
                r.range(1, 60)
            )
        }),
        ("package-manager", |r| {
            format!(
                "Successfully installed keyring-{}.{}.{} secretstorage-3.3.{}",
                r.range(20, 26),
                r.range(0, 9),
                r.range(0, 9),
                r.range(0, 9)
            )
        }),
        ("package-manager", |r| {
            format!(
                "Get:{} http://deb.debian.org/debian bookworm/main amd64 libssl3 amd64 3.0.{}-1 [2,025 kB]",
                r.range(1, 90),
                r.range(1, 20)
            )
        }),
        ("package-manager", |r| format!("Setting up ca-certificates (2023031{}) ...", r.range(0, 9))),
        ("package-manager", |r| {
            format!(
                "Collecting {}==2.{}.{}",
                ["requests", "pyjwt", "keyring", "oauthlib"][r.range(0, 3)],
                r.range(0, 32),
                r.range(0, 9)
            )
        }),
        ("package-manager", |r| {
            format!("  Downloaded {} v{}.{}.{}", crate_name(r), r.range(0, 3), r.range(0, 30), r.range(0, 9))
        }),
        ("package-manager", |r| format!("npm notice integrity: sha512-{}==", r.of(B64, 86))),
        // Kubernetes events.
        ("kubernetes", |r| {
            format!(
                "{}s  Normal  Scheduled  pod/web-{}-{}  Successfully assigned default/web to node-{}",
                r.range(1, 59),
                r.of(HEX, 9),
                r.of(LOWER, 5),
                r.range(1, 9)
            )
        }),
        ("kubernetes", |r| {
            format!("{}m  Warning  FailedMount  pod/api-{}  MountVolume.SetUp failed for volume \"db-password\" : secret \"db-password\" not found", r.range(1, 59), r.of(LOWER, 5))
        }),
        ("kubernetes", |r| {
            format!("  Normal  Pulled  {}s  kubelet  Container image \"ghcr.io/org/api@sha256:{}\" already present on machine", r.range(1, 59), r.of(HEX, 64))
        }),
        ("kubernetes", |r| format!("secret/{}-token created", word(r))),
        ("kubernetes", |r| format!("  tls.crt: {}", base64(CERT).chars().take(r.range(60, 120)).collect::<String>())),
        ("kubernetes", |r| format!("serviceaccount/{}-sa unchanged", word(r))),
    ]
}
