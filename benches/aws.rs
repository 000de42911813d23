//! The AWS round trip against moto's server on loopback (provisioned like the tests: a pinned
//! moto in a virtual environment under `target/tmp`, or `MERIDIAN_MOTO_SERVER`).
//!
//! `cargo bench --bench aws` runs N = 100, 1,000 and 3,000 services x 3 regions, each with a
//! health check per region, on a fresh server each: the apply (write calls, record batches
//! against their lower bound, INSYNC waits, write calls per health check, Meridian's CPU per
//! call), then a plan of the applied topology (read calls, "no changes"), beside a
//! Terraform-style reader that reads each record set and each health check on its own, in the
//! same run. CPU is this process's user + system time during the apply (moto runs apart);
//! ratios are to N = 100. `cargo bench --bench aws -- 1000` runs one size. Then 10 services in
//! a zone of 30,000 other records: the no-change plan read by name, and the zone paged, in the
//! same run (`-- --shared` runs only that, `-- 3000 --shared` both).
//!
//! The topology sets no creation cap (`health_check_creations_per_day = 0`): moto has none,
//! and the bench measures one apply of every check.

// Tests and benchmarks may unwrap (a panic is a failure) and run long: the lints in
// Cargo.toml are for src/.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

#[path = "../tests/it/support/provision.rs"]
mod provision;

use aws_sdk_route53 as r53;
use meridian::graph::ResourceGraph;
use meridian::plan::{self, apply::apply, Options};
use meridian::provider::aws::{AwsProvider, AwsSettings};
use meridian::provider::Provider;
use meridian::source::Sources;
use std::io::BufRead;
use std::time::{Duration, Instant};

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-1"];

fn topology(n: usize) -> String {
    let mut s = String::from(
        "name = \"bench\"\nprovider \"aws\" {\n  health_check_creations_per_day = 0\n}\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "service \"s{i}\" {{\n  zone = \"bench.example\"\n  domain = \"s{i}.bench.example\"\n  routing = \"latency\"\n  health_check {{\n    type = \"HTTPS\"\n    path = \"/healthz\"\n  }}\n"
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

/// moto's server on a free port, stopped when dropped.
struct Moto {
    port: u16,
    child: std::process::Child,
    /// Kept open: the harness stops the server when its output pipe closes.
    _out: std::io::BufReader<std::process::ChildStdout>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto() -> Moto {
    let tools = provision::tools().unwrap_or_else(|e| panic!("{e}"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let (program, args) = tools.harness.split_first().unwrap();
    let mut child = std::process::Command::new(program)
        .args(args)
        .arg(port.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "moto's server did not start");
    Moto {
        port,
        child,
        _out: out,
    }
}

/// This process's user + system CPU time.
fn cpu() -> Duration {
    // SAFETY: an all-zero rusage is valid; getrusage fills it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn provider(port: u16) -> AwsProvider {
    AwsProvider::new(&AwsSettings {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        progress: None,
        stop: None,
        // The library does not read the environment: the CLI does. Without this the provider
        // paces at Route 53's 5 requests a second (the shared-zone times in the README were
        // measured so, as a real account runs).
        route53_rps: std::env::var("MERIDIAN_ROUTE53_RPS")
            .ok()
            .and_then(|v| v.parse().ok()),
        ..AwsSettings::default()
    })
    .unwrap()
}

fn total(calls: &std::collections::BTreeMap<String, usize>) -> usize {
    calls.values().sum()
}

struct Row {
    n: usize,
    checks: usize,
    writes: usize,
    check_writes: usize,
    batches: usize,
    lower_bound: usize,
    waits: usize,
    cpu_per_call: Duration,
    reads: usize,
    read_time: Duration,
    baseline_reads: usize,
    baseline_time: Duration,
    /// `meridian import` of the applied zone: its calls and wall time.
    import_calls: usize,
    /// A one-record change (with its check replaced), planned and applied: every call.
    change_calls: usize,
    import_time: Duration,
}

/// A fresh moto server with zone `bench.example`, and the runtime and Route 53 client of the
/// bench's own reads and writes beside Meridian's.
fn zone() -> (Moto, tokio::runtime::Runtime, r53::Client, String) {
    let server = moto();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conf = rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(format!("http://127.0.0.1:{}", server.port))
            .region(aws_config::Region::new("us-east-1"))
            .load(),
    );
    let client = r53::Client::new(&conf);
    let zone = rt
        .block_on(
            client
                .create_hosted_zone()
                .name("bench.example")
                .caller_reference("bench")
                .send(),
        )
        .unwrap();
    let zone_id = zone.hosted_zone().unwrap().id().to_string();
    (server, rt, client, zone_id)
}

fn one(n: usize) -> Row {
    let (server, rt, client, zone_id) = zone();

    let sources = Sources::from_texts([("main.hcl", topology(n))]);
    let topology = meridian::check(&sources).valid().unwrap().clone();
    let graph = ResourceGraph::build(&topology);
    let identity = meridian::identity::Identity::known("t-bench");
    let input = plan::Input {
        topology: &topology,
        graph: &graph,
        sources: &[],
        identity: &identity,
        backend: None,
    };

    // The apply: everything created.
    let p = provider(server.port);
    let live = p.read(&plan::scope(&graph)).unwrap();
    let read_calls = total(&p.stats());
    let first = plan::plan_against(
        &input,
        live,
        p.source(),
        &Options::default(),
        "bench".into(),
    )
    .unwrap();
    let cpu0 = cpu();
    let outcome = apply(&first, &p, 10);
    let apply_cpu = cpu() - cpu0;
    assert!(outcome.succeeded(), "{:?}", outcome.changes.first());
    let calls = p.stats();
    let writes = total(&calls) - read_calls;
    let checks = n * 3;
    let check_writes = calls.get("CreateHealthCheck").copied().unwrap_or(0)
        + calls.get("ChangeTagsForResource").copied().unwrap_or(0);
    let b = p.batch_stats().unwrap_or_default();

    // The plan of the applied topology: reads only, and no changes.
    let p = provider(server.port);
    let t = Instant::now();
    let again = plan::plan(&input, &p, &Options::default(), "again".into()).unwrap();
    let read_time = t.elapsed();
    assert!(
        !again.has_changes(),
        "the applied topology plans with changes"
    );
    let reads = total(&again.api_calls);

    // The per-record reader: each record set and each health check on its own.
    let t = Instant::now();
    let mut baseline_reads = 0;
    for r in &again.prior_state.records {
        let mut req = client
            .list_resource_record_sets()
            .hosted_zone_id(&zone_id)
            .start_record_name(&r.name)
            .start_record_type(r53::types::RrType::from(r.record_type.as_str()))
            .max_items(1);
        if let Some(s) = &r.set_identifier {
            req = req.start_record_identifier(s);
        }
        rt.block_on(req.send()).unwrap();
        baseline_reads += 1;
    }
    for h in &again.prior_state.health_checks {
        rt.block_on(client.get_health_check().health_check_id(&h.id).send())
            .unwrap();
        baseline_reads += 1;
    }
    let baseline_time = t.elapsed();

    // The import of the applied zone: every record set and check read back into a topology.
    let p = provider(server.port);
    let t = Instant::now();
    let imported =
        meridian::ops::import::import(&p, &["bench.example".to_string()], &[], false).unwrap();
    let import_time = t.elapsed();
    assert_eq!(imported.services, n, "{:?}", imported.left_alone.first());
    let import_calls = total(&p.stats());
    // A one-record change: s0's address in us-east-1 moves, so its record changes and its
    // check (probing the address) is replaced. Planned and applied as `apply DIR` does.
    let moved = self::topology(n).replacen("ips = [\"10.0.0.0\"]", "ips = [\"10.250.0.0\"]", 1);
    let sources = Sources::from_texts([("main.hcl", moved)]);
    let changed_topology = meridian::check(&sources).valid().unwrap().clone();
    let changed_graph = ResourceGraph::build(&changed_topology);
    let changed = plan::Input {
        topology: &changed_topology,
        graph: &changed_graph,
        ..input
    };
    let p = provider(server.port);
    let change_plan = plan::plan(&changed, &p, &Options::default(), "change".into()).unwrap();
    assert_eq!(
        change_plan.summary.replace, 1,
        "the moved address replaces one check"
    );
    assert!(apply(&change_plan, &p, 10).succeeded());
    let change_calls = total(&p.stats());

    Row {
        n,
        checks,
        writes,
        check_writes,
        batches: b.batches,
        lower_bound: b.lower_bound,
        waits: b.waits,
        cpu_per_call: apply_cpu / writes.max(1) as u32,
        reads,
        read_time,
        baseline_reads,
        baseline_time,
        import_calls,
        import_time,
        change_calls,
    }
}

/// A small topology in a shared zone: `services` services x 3 regions planned against a zone
/// that holds `others` records of other teams. Returns the no-change plan's calls and time and,
/// in the same run, the calls and time of reading the zone page by page (what every plan did).
fn shared(services: usize, others: usize) -> (usize, Duration, usize, Duration) {
    let (server, rt, client, zone_id) = zone();
    for chunk in (0..others).collect::<Vec<_>>().chunks(1000) {
        let changes = chunk
            .iter()
            .map(|i| {
                let set = r53::types::ResourceRecordSet::builder()
                    .name(format!("team-{i:05}.bench.example"))
                    .r#type(r53::types::RrType::A)
                    .ttl(300)
                    .resource_records(
                        r53::types::ResourceRecord::builder()
                            .value("192.0.2.1")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap();
                r53::types::Change::builder()
                    .action(r53::types::ChangeAction::Create)
                    .resource_record_set(set)
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>();
        let batch = r53::types::ChangeBatch::builder()
            .set_changes(Some(changes))
            .build()
            .unwrap();
        rt.block_on(
            client
                .change_resource_record_sets()
                .hosted_zone_id(&zone_id)
                .change_batch(batch)
                .send(),
        )
        .unwrap();
    }
    let sources = Sources::from_texts([("main.hcl", topology(services))]);
    let topology = meridian::check(&sources).valid().unwrap().clone();
    let graph = ResourceGraph::build(&topology);
    let identity = meridian::identity::Identity::known("t-shared");
    let input = plan::Input {
        topology: &topology,
        graph: &graph,
        sources: &[],
        identity: &identity,
        backend: None,
    };
    let p = provider(server.port);
    let first = plan::plan(&input, &p, &Options::default(), "first".into()).unwrap();
    assert!(apply(&first, &p, 10).succeeded());
    let p = provider(server.port);
    let t = Instant::now();
    let again = plan::plan(&input, &p, &Options::default(), "again".into()).unwrap();
    let time = t.elapsed();
    assert!(
        !again.has_changes(),
        "the applied topology plans with changes"
    );
    assert!(
        !again.prior_state.read_by_name.is_empty(),
        "not read by name"
    );
    // The zone paged, as every plan read it before.
    let p = provider(server.port);
    let t = Instant::now();
    p.read(&plan::scope(&graph)).unwrap();
    (
        total(&again.api_calls),
        time,
        total(&p.stats()),
        t.elapsed(),
    )
}

fn main() {
    // Credentials for moto; no pacing of Route 53 calls (moto has no rate limit).
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("MERIDIAN_ROUTE53_RPS", "100000");
    std::env::remove_var("AWS_PROFILE");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let with_shared = args.iter().any(|a| a == "--shared");
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if args.is_empty() {
        vec![100, 1_000, 3_000]
    } else {
        sizes
    };
    println!("N services x 3 regions, a health check each, against moto on loopback (fresh server per size)\n");
    println!(
        "{:>6} {:>7} {:>7} {:>9} {:>7} {:>6} {:>10} {:>10} {:>7} {:>9} {:>10} {:>8} {:>7} {:>9} {:>7}",
        "N",
        "writes",
        "batches",
        "(bound)",
        "waits",
        "w/hc",
        "CPU/call",
        "x base",
        "reads",
        "per-rec",
        "ratio",
        "time x",
        "import",
        "imp time",
        "change"
    );
    let mut base: Option<Duration> = None;
    for n in sizes {
        let r = one(n);
        let b = *base.get_or_insert(r.cpu_per_call);
        println!(
            "{:>6} {:>7} {:>7} {:>9} {:>7} {:>6.2} {:>8.0}us {:>9.2}x {:>7} {:>9} {:>9.0}x {:>7.0}x {:>7} {:>7.0}ms {:>7}",
            r.n,
            r.writes,
            r.batches,
            format!("({})", r.lower_bound),
            r.waits,
            r.check_writes as f64 / r.checks as f64,
            r.cpu_per_call.as_secs_f64() * 1e6,
            r.cpu_per_call.as_secs_f64() / b.as_secs_f64(),
            r.reads,
            r.baseline_reads,
            r.baseline_reads as f64 / r.reads as f64,
            r.baseline_time.as_secs_f64() / r.read_time.as_secs_f64(),
            r.import_calls,
            r.import_time.as_secs_f64() * 1e3,
            r.change_calls,
        );
    }
    println!(
        "\nwrites: API calls of the apply; w/hc: write calls per health check; reads: calls of the"
    );
    println!(
        "plan that follows (no changes); per-rec: the same state read one record set and one check"
    );
    println!(
        "at a time; ratio: its calls / Meridian's; time x: its wall time / Meridian's plan's;"
    );
    println!("import: calls of `meridian import` of the applied zone, and its wall time; change:");
    println!("every call of a one-record change with its check replaced (plan, then apply).");
    if with_shared || args.is_empty() {
        let (calls, time, paged, paged_time) = shared(10, 30_000);
        println!(
            "\n10 services x 3 regions in a zone of 30,000 other records, no-change plan: {calls} calls in {:.0} ms, read by name; the zone paged: {paged} calls in {:.0} ms ({:.1}x the calls, {:.1}x the time)",
            time.as_secs_f64() * 1e3,
            paged_time.as_secs_f64() * 1e3,
            paged as f64 / calls as f64,
            paged_time.as_secs_f64() / time.as_secs_f64()
        );
    }
}
