//! Plan benchmark: generated topologies of N services x 3 regions (7 resources each: 3 health
//! checks, 3 records, 1 ownership marker), planned by the `meridian` binary end to end against
//! a local state store that already holds them (so the plan is all no-ops: the steady state CI
//! sees).
//!
//! `cargo bench --bench plan` runs N = 100, 1,000, 10,000 and 30,000, and for each prints the
//! median wall time and the peak RSS (the process's own, from `wait4`) of `plan`, `validate`
//! and `analyze`, with ratios to N = 100 measured in the same run and the growth exponent
//! (log time ratio / log N ratio; 1.0 is linear). Then the small-against-huge case: 100
//! services of another topology planned against a store of 30,000 services, as a ratio to
//! only reading that store, in the same process.
//!
//! `cargo bench --bench plan -- 1000 10000` runs chosen sizes; `-- --small 30000` only the
//! small-against-huge case against a store of that size; `-- --json [N ...]` the JSON plan
//! against the plain one (10,000 and 100,000 by default): what its output adds to the peak;
//! `-- --distribution [N ...]` `analyze --distribution` (and with a brown-out, 10,000 simulated
//! runs) against `analyze` (1 and 1,000 services by default), each service with its own TTL so
//! no two share a figure.

// Tests and benchmarks may unwrap (a panic is a failure) and run long: the lints in
// Cargo.toml are for src/.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use meridian::graph::ResourceGraph;
use meridian::plan::{self, apply::apply, Options};
use meridian::provider::local::LocalStore;
use meridian::provider::Provider;
use meridian::source::Sources;
use std::path::Path;
use std::time::{Duration, Instant};

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-1"];
const MERIDIAN: &str = env!("CARGO_BIN_EXE_meridian");

/// `n` services named `{prefix}{i}` in zone bench.example.
fn topology(name: &str, prefix: &str, n: usize) -> String {
    let mut s = String::with_capacity(n * 400);
    s.push_str(&format!("name = \"{name}\"\n"));
    for i in 0..n {
        s.push_str(&format!(
            "service \"{prefix}{i}\" {{\n  zone = \"bench.example\"\n  domain = \"{prefix}{i}.bench.example\"\n  routing = \"latency\"\n  health_check {{\n    type = \"HTTPS\"\n    path = \"/healthz\"\n    interval = 10\n  }}\n"
        ));
        for (k, r) in REGIONS.iter().enumerate() {
            s.push_str(&format!(
                "  region \"{r}\" {{\n    ips = [\"10.{}.{}.{k}\"]\n  }}\n",
                (i / 250) % 250,
                i % 250
            ));
        }
        s.push_str("}\n");
    }
    s
}

struct Valid {
    topology: meridian::model::Topology,
    graph: ResourceGraph,
}

fn valid(text: String) -> Valid {
    let sources = Sources::from_texts([("main.hcl", text)]);
    let topology = meridian::check(&sources)
        .valid()
        .expect("valid bench topology")
        .clone();
    let graph = ResourceGraph::build(&topology);
    Valid { topology, graph }
}

/// Applies `v` to `store` through the library under `identity`, with no daily creation cap
/// (a plan refuses more than 1,000 new health checks a day, as Route 53 did; a seed is not a
/// real account). The topology on disk is unchanged.
fn fill(v: &Valid, identity: &meridian::identity::Identity, store: &LocalStore) {
    let mut topology = v.topology.clone();
    topology
        .provider
        .get_or_insert_with(Default::default)
        .creations_per_day = Some(0);
    let input = plan::Input {
        topology: &topology,
        graph: &v.graph,
        sources: &[],
        identity,
        backend: None,
    };
    let live = store.read(&plan::scope(&v.graph)).expect("read");
    let first = plan::plan_against(
        &input,
        live,
        store.source(),
        &Options::default(),
        "seed".into(),
    )
    .expect("plan");
    assert!(apply(&first, store, 10).succeeded(), "seed apply");
}

/// Writes `dir/main.hcl` and a state store and manifest (`dir/.meridian`) that hold it, as
/// `meridian apply` would have left them.
fn seed(n: usize, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join(".meridian")).expect("dir");
    let text = topology("bench", "svc", n);
    std::fs::write(dir.join("main.hcl"), &text).expect("write topology");
    let identity = meridian::identity::Identity::known("t-bench");
    let manifest = meridian::backend::Manifest::new(&identity, "bench");
    use meridian::backend::Backend;
    meridian::backend::local::LocalBackend::new(&dir.join(".meridian"))
        .write(&manifest, None)
        .expect("manifest");
    let store = LocalStore::open(&dir.join(".meridian/state.json"), None).expect("store");
    fill(&valid(text), &identity, &store);
}

/// Seeds in a child process: Linux counts the RSS a process had when it spawned another
/// into that one's peak, so this process stays small.
fn seed_apart(n: usize, dir: &Path) {
    let ok = std::process::Command::new(std::env::current_exe().expect("own path"))
        .args(["--seed", &n.to_string()])
        .arg(dir)
        .status()
        .expect("seed runs");
    assert!(ok.success(), "seeding {n} failed");
}

/// Runs the binary; returns its wall time and its own peak RSS in KiB.
fn run(args: &[&str]) -> (Duration, u64) {
    let t = Instant::now();
    // Reaped by wait4 below, which also gives its own peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = std::process::Command::new(MERIDIAN)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("meridian runs");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = t.elapsed();
    assert_eq!(got, pid, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "meridian {args:?} failed (status {status})"
    );
    (wall, usage.ru_maxrss as u64)
}

/// Median time and largest peak RSS of `runs` runs.
fn measure(args: &[&str], runs: usize) -> (Duration, u64) {
    let mut times = Vec::new();
    let mut rss = 0;
    for _ in 0..runs {
        let (t, r) = run(args);
        times.push(t);
        rss = rss.max(r);
    }
    times.sort();
    (times[times.len() / 2], rss)
}

fn exponent(a: f64, b: f64, na: usize, nb: usize) -> f64 {
    (b / a).ln() / (nb as f64 / na as f64).ln()
}

fn scaling(sizes: &[usize]) {
    let work = std::env::temp_dir().join(format!("meridian-bench-{}", std::process::id()));
    println!(
        "meridian COMMAND on N services x 3 regions; `plan` against a local store holding them"
    );
    println!("(median of 3 runs; RSS is the process's peak; ratios to the first size, same run)\n");
    println!(
        "{:>7} {:>9}  {:>9} {:>7} {:>10} {:>7}  {:>9} {:>10}  {:>9} {:>10}",
        "N",
        "resources",
        "plan",
        "x base",
        "plan RSS",
        "x base",
        "validate",
        "RSS",
        "analyze",
        "RSS"
    );
    let mut rows: Vec<(usize, f64, f64)> = Vec::new();
    for &n in sizes {
        let dir = work.join(n.to_string());
        seed_apart(n, &dir);
        let d = dir.to_str().expect("utf-8 temp dir");
        let (plan_t, plan_rss) = measure(&["plan", "-q", d], 3);
        let (val_t, val_rss) = measure(&["validate", "-q", d], 3);
        let (an_t, an_rss) = measure(&["analyze", "-q", d], 3);
        let (t, r) = (plan_t.as_secs_f64(), plan_rss as f64);
        let (bt, br) = rows.first().map_or((t, r), |b| (b.1, b.2));
        rows.push((n, t, r));
        println!(
            "{n:>7} {:>9}  {:>7.0}ms {:>6.1}x {:>6.1} MiB {:>6.1}x  {:>7.0}ms {:>6.1} MiB  {:>7.0}ms {:>6.1} MiB",
            n * 7,
            t * 1e3,
            t / bt,
            r / 1024.0,
            r / br,
            val_t.as_secs_f64() * 1e3,
            val_rss as f64 / 1024.0,
            an_t.as_secs_f64() * 1e3,
            an_rss as f64 / 1024.0,
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    if rows.len() > 1 {
        println!("\ngrowth exponent of plan (1.0 = linear), time / RSS:");
        for w in rows.windows(2) {
            let ((na, ta, ra), (nb, tb, rb)) = (w[0], w[1]);
            println!(
                "  {na:>6} -> {nb:>6}: {:.2} / {:.2}",
                exponent(ta, tb, na, nb),
                exponent(ra, rb, na, nb)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// `plan --format json` against the plain plan at each size: the JSON's wall time and what it
/// adds to the peak RSS (its text is written as it is produced), medians of 3 runs each.
fn json(sizes: &[usize]) {
    let work = std::env::temp_dir().join(format!("meridian-bench-json-{}", std::process::id()));
    println!("`plan` against `plan --format json` (to /dev/null), N services x 3 regions\n");
    println!(
        "{:>7} {:>9} {:>10} {:>9} {:>10} {:>10} {:>10}",
        "N", "plan", "plan RSS", "json", "json RSS", "added", "json MB"
    );
    for &n in sizes {
        let dir = work.join(n.to_string());
        seed_apart(n, &dir);
        let d = dir.to_str().expect("utf-8 temp dir");
        let (pt, pr) = measure(&["plan", "-q", d], 3);
        let (jt, jr) = measure(&["plan", "-q", d, "--format", "json"], 3);
        let out = dir.join("plan.json");
        run(&["plan", "-q", d, "--out", out.to_str().expect("utf-8")]);
        let bytes = std::fs::metadata(&out).map_or(0, |m| m.len());
        println!(
            "{n:>7} {:>7.0}ms {:>6.1} MiB {:>7.0}ms {:>6.1} MiB {:>6.1} MiB {:>8.0} MB",
            pt.as_secs_f64() * 1e3,
            pr as f64 / 1024.0,
            jt.as_secs_f64() * 1e3,
            jr as f64 / 1024.0,
            (jr as f64 - pr as f64) / 1024.0,
            bytes as f64 / 1e6,
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&work);
}

fn distribution(sizes: &[usize]) {
    let work = std::env::temp_dir().join(format!("meridian-bench-dist-{}", std::process::id()));
    println!("`analyze` against `analyze --distribution` (fast and dark), and with `--error-rate 0.7` (a brown-out, 10,000 runs), N services x 3 regions\n");
    println!(
        "{:>7} {:>10} {:>13} {:>7} {:>13} {:>7}",
        "N", "analyze", "distribution", "ratio", "brown-out", "ratio"
    );
    for &n in sizes {
        let dir = work.join(n.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        // Each service its own TTL (1..=300 s): no figure is shared between services.
        let text = topology("bench", "svc", n);
        let mut out = String::with_capacity(text.len() + n * 16);
        let mut i = 0;
        for line in text.lines() {
            out.push_str(line);
            out.push('\n');
            if line.starts_with("  routing = ") {
                out.push_str(&format!("  ttl = {}\n", 1 + i % 300));
                i += 1;
            }
        }
        std::fs::write(dir.join("main.hcl"), out).unwrap();
        let d = dir.to_str().expect("utf-8 temp dir");
        let (at, _) = measure(&["analyze", d], 3);
        let (dt, _) = measure(&["analyze", d, "--distribution"], 3);
        let (bt, _) = measure(&["analyze", d, "--distribution", "--error-rate", "0.7"], 3);
        let ms = |t: Duration| t.as_secs_f64() * 1e3;
        println!(
            "{n:>7} {:>8.0}ms {:>11.0}ms {:>6.1}x {:>11.0}ms {:>6.1}x",
            ms(at),
            ms(dt),
            ms(dt) / ms(at),
            ms(bt),
            ms(bt) / ms(at)
        );
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// 100 services of a new topology planned against a store of `big` services of another, in
/// one process: the plan's time as a ratio to opening and reading that store.
fn small_against_huge(big: usize) {
    let dir = std::env::temp_dir().join(format!("meridian-bench-small-{}", std::process::id()));
    seed(big, &dir);
    let path = dir.join(".meridian/state.json");
    let small = valid(topology("small", "small", 100));
    let identity = meridian::identity::Identity::mint();
    let input = plan::Input {
        topology: &small.topology,
        graph: &small.graph,
        sources: &[],
        identity: &identity,
        backend: None,
    };
    let median = |f: &dyn Fn()| {
        let mut times: Vec<Duration> = (0..3)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect();
        times.sort();
        times[1]
    };
    let read = median(&|| {
        let store = LocalStore::open(&path, None).expect("store");
        let live = store.read(&plan::scope(&small.graph)).expect("read");
        assert!(live.records.len() >= big * 4);
    });
    let planned = median(&|| {
        let store = LocalStore::open(&path, None).expect("store");
        let p = plan::plan(&input, &store, &Options::default(), "small".into()).expect("plan");
        assert_eq!(p.summary.add, 700);
    });
    println!(
        "\n100 services planned against a store of {big} services of another topology:\n  open + read the store {:.0} ms (baseline), open + plan {:.0} ms: {:.2}x",
        read.as_secs_f64() * 1e3,
        planned.as_secs_f64() * 1e3,
        planned.as_secs_f64() / read.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let [flag, n, dir] = args.as_slice() {
        if flag == "--seed" {
            seed(n.parse().expect("size"), Path::new(dir));
            return;
        }
    }
    if let Some(i) = args.iter().position(|a| a == "--small") {
        let big = args
            .get(i + 1)
            .and_then(|a| a.parse().ok())
            .unwrap_or(30_000);
        small_against_huge(big);
        return;
    }
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if args.iter().any(|a| a == "--distribution") {
        distribution(if sizes.is_empty() {
            &[1, 1_000]
        } else {
            &sizes
        });
        return;
    }
    if args.iter().any(|a| a == "--json") {
        json(if sizes.is_empty() {
            &[10_000, 100_000]
        } else {
            &sizes
        });
        return;
    }
    let sizes = if sizes.is_empty() {
        vec![100, 1_000, 10_000, 30_000]
    } else {
        sizes
    };
    scaling(&sizes);
    if args.is_empty() {
        small_against_huge(30_000);
    }
}
