//! Word count on the engine with two workers: generated text → lines → words → counts,
//! checked against a plain sequential count.
//!
//! Run: `cargo run --example word_count`

use morpheus_engine::{execute, Config};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let text = dir.path().join("text.txt");
    morpheus::text::write_text(&text, 1 << 20, 7)?;

    let path = text.clone();
    let (results, metrics) = execute(Config::threads(2), move |ctx| {
        morpheus::jobs::word_count(ctx, &path)
    })?;
    let counts = &results[0];

    let mut plain = std::collections::HashMap::<String, u64>::new();
    for w in morpheus::jobs::words(&std::fs::read_to_string(&text)?) {
        *plain.entry(w).or_default() += 1;
    }
    assert_eq!(counts.len(), plain.len());
    assert!(counts.iter().all(|(w, n)| plain[w] == *n));
    println!("{} distinct words; most frequent:", counts.len());
    for (w, n) in counts.iter().take(5) {
        println!("  {w}\t{n}");
    }
    println!(
        "{} stages, {} records shuffled, {:.3} s",
        metrics.stages.len(),
        metrics.records_in,
        metrics.seconds
    );
    Ok(())
}
