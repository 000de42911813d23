//! Plan benchmark: a generated topology of N services x 3 regions, planned against a local
//! state store that already holds it (so the plan is all no-ops: the steady state CI sees).
//!
//! `cargo bench --bench plan` runs N = 100, 1,000 and 10,000, each in its own process so its
//! peak memory is its own, and prints time and peak RSS with ratios to the N = 100 baseline
//! measured in the same run. `cargo bench --bench plan -- 1000` runs one size.

// Tests and benchmarks may unwrap (a panic is a failure) and run long: the lints in
// Cargo.toml are for src/.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use meridian::graph::ResourceGraph;
use meridian::plan::{self, apply::apply, Options};
use meridian::provider::local::LocalStore;
use meridian::source::Sources;
use std::time::Instant;

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-1"];

fn topology(n: usize) -> String {
    let mut s = String::with_capacity(n * 400);
    s.push_str("name = \"bench\"\n");
    for i in 0..n {
        s.push_str(&format!(
            "service \"svc{i}\" {{\n  zone = \"bench.example\"\n  domain = \"svc{i}.bench.example\"\n  routing = \"latency\"\n  health_check {{\n    type = \"HTTPS\"\n    path = \"/healthz\"\n    interval = 10\n  }}\n"
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

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the peak-RSS mark (Linux: write 5 to clear_refs), so only what follows counts.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// One size: prints `n check_ms plan_ms peak_kib resources`.
fn child(n: usize) {
    let text = topology(n);
    let dir = std::env::temp_dir().join(format!("meridian-bench-{n}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = LocalStore::open(&dir.join("state.json"), None).expect("store");

    let t = Instant::now();
    let sources = Sources::from_texts([("bench.hcl", text)]);
    let checked = meridian::check(&sources);
    let mut topology = checked.valid().expect("valid bench topology").clone();
    topology.name = Some("bench".into());
    let graph = ResourceGraph::build(&topology);
    let check_time = t.elapsed();
    let identity = meridian::identity::Identity::known("t-bench");
    let input = plan::Input {
        topology: &topology,
        graph: &graph,
        sources: &[],
        identity: &identity,
        backend: None,
    };

    // Fill the store with the same topology (not timed).
    let first = plan::plan(&input, &store, &Options::default(), "seed".into()).expect("plan");
    assert!(apply(&first, &store, 10).succeeded());

    reset_peak();
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let p = plan::plan(&input, &store, &Options::default(), "bench".into()).expect("plan");
        times.push(t.elapsed());
        assert!(!p.has_changes());
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "{n} {:.3} {:.3} {} {}",
        check_time.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        peak_rss_kib(),
        graph.resources().len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let Some(n) = args.first().and_then(|a| a.parse::<usize>().ok()) {
        if args.get(1).is_some_and(|a| a == "--child") {
            child(n);
            return;
        }
    }
    let sizes: Vec<usize> = match args.first().and_then(|a| a.parse().ok()) {
        Some(n) => vec![n],
        None => vec![100, 1_000, 10_000],
    };
    let exe = std::env::current_exe().expect("own path");
    println!("plan of N services x 3 regions against a local store holding them (median of 5)");
    println!(
        "{:>7} {:>10} {:>12} {:>12} {:>10} {:>12} {:>10}",
        "N", "resources", "check+graph", "plan", "plan/base", "peak RSS", "RSS/base"
    );
    let mut base: Option<(f64, f64, usize)> = None;
    for n in sizes {
        let out = std::process::Command::new(&exe)
            .args([n.to_string(), "--child".into()])
            .output()
            .expect("child runs");
        let line = String::from_utf8_lossy(&out.stdout);
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 5 {
            eprintln!("size {n} failed: {}", String::from_utf8_lossy(&out.stderr));
            std::process::exit(1);
        }
        let check_ms: f64 = f[1].parse().unwrap_or(0.0);
        let plan_ms: f64 = f[2].parse().unwrap_or(0.0);
        let rss: f64 = f[3].parse().unwrap_or(0.0);
        let (b_plan, b_rss, b_n) = *base.get_or_insert((plan_ms, rss, n));
        println!(
            "{n:>7} {:>10} {:>10.1}ms {:>10.1}ms {:>9.1}x {:>9.1} MiB {:>9.1}x   (N/base {:.0}x)",
            f[4],
            check_ms,
            plan_ms,
            plan_ms / b_plan,
            rss / 1024.0,
            rss / b_rss,
            n as f64 / b_n as f64
        );
    }
}
