//! Native three-digest throughput, for scripts/bench: `cargo run --release --example bench_digest -- MIB`.
use std::time::Instant;

fn main() {
    let mib: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(256);
    let chunk: Vec<u8> = (0..1 << 20).map(|i| (i as u32).wrapping_mul(2654435761) as u8).collect();
    let mut runs = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let mut d = pypublish::digest::Digester::new();
        for _ in 0..mib {
            d.update(&chunk);
        }
        let out = d.finish();
        std::hint::black_box(out);
        runs.push(mib as f64 / start.elapsed().as_secs_f64());
    }
    runs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{:.1}", runs[1]);
}
