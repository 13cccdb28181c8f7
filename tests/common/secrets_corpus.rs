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
    }
    out
}
