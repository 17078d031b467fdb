//! The login-storm client, and the argon2 timer it is compared with (docs/PERFORMANCE.md).
//!
//! ```text
//! storm hash  --memory-kib 19456 --iterations 2 --parallelism 1 [--count 20] [--threads 1]
//! storm login --addr 127.0.0.1:3300 [--concurrency 1000] [--duration 20] [--health-rate 20]
//!             [--email a@example.com] [--password '...'] [--timeout 120]
//!             [--sample-ms 0 --memory-kib 19456 --iterations 2 --parallelism 1]
//! ```
//!
//! `hash` computes one argon2id hash of the password `--count` times on one thread (the work of
//! one sign-in, with the parameters given) and prints the median time of one; with `--threads N`
//! on N threads at once (the median over all of them).
//!
//! `login` opens `--concurrency` keep-alive connections to `--addr` (loopback only) and on each
//! sends `POST /api/v1/auth/login` with the JSON credentials in a loop until `--duration`
//! seconds have passed; requests in flight then finish (each is bounded by `--timeout`). A
//! separate connection probes `GET /health` `--health-rate` times a second meanwhile. Prints
//! `key value` lines: logins that answered 200, errors (any other status, a transport error
//! or a timeout), logins/s (200s over the time until the last one answered), login and /health
//! latency percentiles.
//!
//! With `--sample-ms N`, `login` also times one argon2id hash (the `hash` parameters) every N ms
//! on a thread of its own while the storm runs: the ceiling measured on the same cores at the
//! same moment as the server's hashes, so the VM's drift moves both. Each sample is the
//! thread's CPU time (`/proc/thread-self/schedstat`), not wall time, since the thread shares the
//! cores with the server; printed as `sample_hash_cpu_ms` (median), `sample_hash_wall_ms`,
//! `samples` and `sampler_cpu_s` (what the sampler took from the server).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Full};
use hyper::Request;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

struct Opts {
    addr: SocketAddr,
    concurrency: usize,
    duration: Duration,
    health_rate: u32,
    email: String,
    password: String,
    timeout: Duration,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    count: usize,
    threads: usize,
    sample_ms: u64,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
        concurrency: 1000,
        duration: Duration::from_secs(20),
        health_rate: 20,
        email: auth_benches::EMAIL.into(),
        password: auth_benches::PASSWORD.into(),
        timeout: Duration::from_secs(120),
        memory_kib: 19456,
        iterations: 2,
        parallelism: 1,
        count: 20,
        threads: 1,
        sample_ms: 0,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = || v.parse::<u64>().map_err(|_| format!("{flag}: {v:?} is not a number"));
        match flag.as_str() {
            "--addr" => o.addr = v.parse().map_err(|_| format!("--addr: {v:?} is not an address"))?,
            "--concurrency" => o.concurrency = usize::try_from(num()?).map_err(|e| e.to_string())?,
            "--duration" => o.duration = Duration::from_secs(num()?),
            "--health-rate" => o.health_rate = u32::try_from(num()?).map_err(|e| e.to_string())?,
            "--email" => o.email = v.clone(),
            "--password" => o.password = v.clone(),
            "--timeout" => o.timeout = Duration::from_secs(num()?),
            "--memory-kib" => o.memory_kib = u32::try_from(num()?).map_err(|e| e.to_string())?,
            "--iterations" => o.iterations = u32::try_from(num()?).map_err(|e| e.to_string())?,
            "--parallelism" => o.parallelism = u32::try_from(num()?).map_err(|e| e.to_string())?,
            "--count" => o.count = usize::try_from(num()?).map_err(|e| e.to_string())?.max(1),
            "--threads" => o.threads = usize::try_from(num()?).map_err(|e| e.to_string())?.clamp(1, 64),
            "--sample-ms" => o.sample_ms = num()?,
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    if !o.addr.ip().is_loopback() {
        return Err("--addr must be a loopback address".into());
    }
    Ok(o)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = args.split_first().map_or(("", &[][..]), |(c, r)| (c.as_str(), r));
    let opts = match parse(rest) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}\nusage: storm hash|login [flags] (see the source's header)");
            std::process::exit(2);
        }
    };
    let code = match cmd {
        "hash" => hash(&opts),
        "login" => match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(rt) => rt.block_on(storm(opts)),
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        },
        _ => {
            eprintln!("usage: storm hash|login [flags] (see the source's header)");
            2
        }
    };
    std::process::exit(code);
}

/// Median time of one argon2id computation with the given parameters, on this thread: what one
/// sign-in costs the server, which computes in a reused memory buffer (auth-core's
/// password.rs), so neither does this timer allocate per hash.
fn hash(o: &Opts) -> i32 {
    let runs: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..o.threads).map(|_| scope.spawn(|| hash_times(o))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a hashing thread panicked".into()))).collect()
    });
    let mut times = Vec::new();
    for run in runs {
        match run {
            Ok(t) => times.extend(t),
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        }
    }
    times.sort();
    println!("hash_ms {:.2}", times[times.len() / 2].as_secs_f64() * 1e3);
    println!("hash_min_ms {:.2}", times[0].as_secs_f64() * 1e3);
    0
}

/// One argon2id computation after another, in one reused buffer (as the server hashes).
struct Hasher {
    argon: argon2::Argon2<'static>,
    memory: Vec<argon2::Block>,
    password: Vec<u8>,
}

impl Hasher {
    fn new(o: &Opts) -> Result<Self, String> {
        let params = argon2::Params::new(o.memory_kib, o.iterations, o.parallelism, None)
            .map_err(|e| format!("argon2 parameters: {e}"))?;
        let memory = vec![argon2::Block::default(); params.block_count()];
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        Ok(Self { argon, memory, password: o.password.as_bytes().to_vec() })
    }

    fn hash(&mut self) -> Result<(), String> {
        let mut out = [0u8; 32];
        self.argon
            .hash_password_into_with_memory(&self.password, b"bench-salt-16byt", &mut out, &mut self.memory)
            .map_err(|e| format!("argon2: {e}"))
    }
}

/// `--count` timed argon2 computations on this thread.
fn hash_times(o: &Opts) -> Result<Vec<Duration>, String> {
    let mut hasher = Hasher::new(o)?;
    let mut times = Vec::with_capacity(o.count);
    for _ in 0..=o.count {
        let start = Instant::now();
        hasher.hash()?;
        times.push(start.elapsed());
    }
    // The first run touches the memory for the first time.
    times.remove(0);
    Ok(times)
}

/// This thread's time on a CPU so far (the first field of `/proc/thread-self/schedstat`, ns).
fn thread_cpu() -> Result<Duration, String> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").map_err(|e| format!("schedstat: {e}"))?;
    let ns = text.split_whitespace().next().and_then(|v| v.parse::<u64>().ok());
    ns.map(Duration::from_nanos).ok_or_else(|| format!("schedstat: unexpected {text:?}"))
}

/// What the sampler measured: per hash (CPU time, wall time), and its own CPU time in all.
type Samples = (Vec<(Duration, Duration)>, Duration);

/// Times one hash every `--sample-ms` until `stop` (the `--sample-ms` mode of `login`).
fn sample_hashes(o: &Opts, stop: &AtomicBool) -> Result<Samples, String> {
    let mut hasher = Hasher::new(o)?;
    hasher.hash()?; // touches the memory
    let first = thread_cpu()?;
    let mut samples = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let (cpu, wall) = (thread_cpu()?, Instant::now());
        hasher.hash()?;
        samples.push((thread_cpu()? - cpu, wall.elapsed()));
        std::thread::sleep(Duration::from_millis(o.sample_ms));
    }
    Ok((samples, thread_cpu()? - first))
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(conn);
    Ok(sender)
}

#[derive(Default)]
struct WorkerResult {
    ok: u64,
    errors: Vec<String>,
    latencies: Vec<Duration>,
    last: Option<Instant>,
}

async fn login_worker(o: Arc<Opts>, body: Bytes, stop: Arc<AtomicBool>) -> WorkerResult {
    let mut r = WorkerResult::default();
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    let host = o.addr.to_string();
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        let attempt = async {
            let s = match sender.as_mut() {
                Some(s) => s,
                None => sender.insert(connect(o.addr).await?),
            };
            s.ready().await.map_err(|e| format!("ready: {e}"))?;
            let req = Request::post("/api/v1/auth/login")
                .header("host", &host)
                .header("content-type", "application/json")
                .body(Full::new(body.clone()))
                .map_err(|e| e.to_string())?;
            let res = s.send_request(req).await.map_err(|e| format!("request: {e}"))?;
            let status = res.status();
            let _ = res.into_body().collect().await.map_err(|e| format!("body: {e}"))?;
            if status == 200 { Ok(()) } else { Err(format!("status {status}")) }
        };
        match tokio::time::timeout(o.timeout, attempt).await {
            Ok(Ok(())) => {
                r.ok += 1;
                r.latencies.push(start.elapsed());
                r.last = Some(Instant::now());
            }
            Ok(Err(e)) => {
                if e.starts_with("connect") || e.starts_with("request") || e.starts_with("ready") {
                    sender = None;
                }
                r.errors.push(e);
            }
            Err(_) => {
                sender = None;
                r.errors.push("timeout".into());
            }
        }
    }
    r
}

async fn health_prober(o: Arc<Opts>, stop: Arc<AtomicBool>) -> (Vec<Duration>, Vec<String>) {
    let (mut lat, mut errors) = (Vec::new(), Vec::new());
    let mut sender: Option<SendRequest<Empty<Bytes>>> = None;
    let host = o.addr.to_string();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / o.health_rate.max(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let start = Instant::now();
        let attempt = async {
            if sender.is_none() {
                let stream = TcpStream::connect(o.addr).await.map_err(|e| format!("connect: {e}"))?;
                let _ = stream.set_nodelay(true);
                let (s, conn) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
                tokio::spawn(conn);
                sender = Some(s);
            }
            let Some(s) = sender.as_mut() else { unreachable!("just connected") };
            s.ready().await.map_err(|e| format!("ready: {e}"))?;
            let req = Request::get("/health").header("host", &host).body(Empty::new()).map_err(|e| e.to_string())?;
            let res = s.send_request(req).await.map_err(|e| format!("request: {e}"))?;
            let status = res.status();
            let _ = res.into_body().collect().await.map_err(|e| format!("body: {e}"))?;
            if status == 200 { Ok(()) } else { Err(format!("status {status}")) }
        };
        match tokio::time::timeout(Duration::from_secs(10), attempt).await {
            Ok(Ok(())) => lat.push(start.elapsed()),
            Ok(Err(e)) => {
                sender = None;
                errors.push(e);
            }
            Err(_) => {
                sender = None;
                errors.push("timeout".into());
            }
        }
    }
    (lat, errors)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e3
}

async fn storm(o: Opts) -> i32 {
    let body = Bytes::from(serde_json::json!({ "email": o.email, "password": o.password }).to_string());
    let o = Arc::new(o);
    let stop = Arc::new(AtomicBool::new(false));
    let health_stop = Arc::new(AtomicBool::new(false));
    let health = tokio::spawn(health_prober(Arc::clone(&o), Arc::clone(&health_stop)));
    let sampler = (o.sample_ms > 0).then(|| {
        let (o, stop) = (Arc::clone(&o), Arc::clone(&health_stop));
        std::thread::spawn(move || sample_hashes(&o, &stop))
    });
    let start = Instant::now();
    let workers: Vec<_> = (0..o.concurrency)
        .map(|_| tokio::spawn(login_worker(Arc::clone(&o), body.clone(), Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(o.duration).await;
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut errors, mut lat, mut last) = (0u64, Vec::new(), Vec::new(), start);
    for w in workers {
        match w.await {
            Ok(r) => {
                ok += r.ok;
                errors.extend(r.errors);
                lat.extend(r.latencies);
                last = last.max(r.last.unwrap_or(start));
            }
            Err(e) => errors.push(format!("worker: {e}")),
        }
    }
    let drained = start.elapsed();
    health_stop.store(true, Ordering::Relaxed);
    let (mut hlat, herrors) = health.await.unwrap_or_default();
    let samples = match sampler.map(|s| s.join().unwrap_or_else(|_| Err("the sampler panicked".into()))) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    lat.sort();
    hlat.sort();
    let elapsed = last.duration_since(start).as_secs_f64();
    println!("logins_ok {ok}");
    println!("login_errors {}", errors.len());
    println!("elapsed_s {elapsed:.2}");
    println!("drained_s {:.2}", drained.as_secs_f64());
    println!("logins_per_s {:.2}", ok as f64 / elapsed.max(1e-9));
    println!("login_p50_ms {:.0}", pct(&lat, 50.0));
    println!("login_p99_ms {:.0}", pct(&lat, 99.0));
    println!("health_count {}", hlat.len());
    println!("health_errors {}", herrors.len());
    println!("health_p50_ms {:.2}", pct(&hlat, 50.0));
    println!("health_p99_ms {:.2}", pct(&hlat, 99.0));
    println!("health_max_ms {:.2}", hlat.last().map_or(f64::NAN, |d| d.as_secs_f64() * 1e3));
    if let Some((mut samples, sampler_cpu)) = samples {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!("samples {}", samples.len());
        println!("sampler_cpu_s {:.2}", sampler_cpu.as_secs_f64());
        if !samples.is_empty() {
            samples.sort_by_key(|s| s.0);
            println!("sample_hash_cpu_ms {:.2}", ms(samples[samples.len() / 2].0));
            println!("sample_hash_cpu_min_ms {:.2}", ms(samples[0].0));
            println!("sample_hash_cpu_max_ms {:.2}", ms(samples[samples.len() - 1].0));
            samples.sort_by_key(|s| s.1);
            println!("sample_hash_wall_ms {:.2}", ms(samples[samples.len() / 2].1));
        }
    }
    let mut kinds: Vec<&String> = errors.iter().chain(herrors.iter()).collect();
    kinds.sort();
    kinds.dedup();
    for k in kinds.iter().take(5) {
        eprintln!("storm: error: {k}");
    }
    i32::from(!errors.is_empty() || !herrors.is_empty())
}
