//! The login-storm client, and the argon2 timer it is compared with (docs/PERFORMANCE.md).
//!
//! ```text
//! storm hash  --memory-kib 19456 --iterations 2 --parallelism 1 [--count 20] [--threads 1]
//! storm login --addr 127.0.0.1:3300 [--concurrency 1000] [--duration 20] [--health-rate 20]
//!             [--email a@example.com] [--password '...'] [--timeout 120]
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

/// `--count` timed argon2 computations on this thread.
fn hash_times(o: &Opts) -> Result<Vec<Duration>, String> {
    let params = argon2::Params::new(o.memory_kib, o.iterations, o.parallelism, None)
        .map_err(|e| format!("argon2 parameters: {e}"))?;
    let blocks = params.block_count();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut memory = vec![argon2::Block::default(); blocks];
    let salt = *b"bench-salt-16byt";
    let mut out = [0u8; 32];
    let mut times = Vec::with_capacity(o.count);
    for _ in 0..=o.count {
        let start = Instant::now();
        argon
            .hash_password_into_with_memory(o.password.as_bytes(), &salt, &mut out, &mut memory)
            .map_err(|e| format!("argon2: {e}"))?;
        times.push(start.elapsed());
    }
    // The first run touches the memory for the first time.
    times.remove(0);
    Ok(times)
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
    let mut kinds: Vec<&String> = errors.iter().chain(herrors.iter()).collect();
    kinds.sort();
    kinds.dedup();
    for k in kinds.iter().take(5) {
        eprintln!("storm: error: {k}");
    }
    i32::from(!errors.is_empty() || !herrors.is_empty())
}
