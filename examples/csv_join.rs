//! Joins two CSV datasets on a key with the RDD API: people (`id,name,country`) and
//! purchases (`person,amount`) → total spent per country, with people who bought nothing
//! kept by a left outer join.
//!
//! Run: `cargo run --example csv_join`

use morpheus_engine::{execute, Config, Error};
use morpheus_rdd::Rdd;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let people = dir.path().join("people.csv");
    let purchases = dir.path().join("purchases.csv");
    let mut p = String::from("id,name,country\n");
    for i in 0..1000u64 {
        p.push_str(&format!(
            "{i},person{i},{}\n",
            ["NZ", "FR", "JP", "BR"][(i % 4) as usize]
        ));
    }
    let mut q = String::from("person,amount\n");
    for i in 0..5000u64 {
        q.push_str(&format!("{},{}\n", (i * 7) % 900, i % 50));
    }
    std::fs::write(&people, p)?;
    std::fs::write(&purchases, q)?;

    let (results, _) = execute(Config::threads(2), move |ctx| {
        let field = |line: &str, i: usize| line.split(',').nth(i).map(str::to_owned);
        let parse = |s: Option<String>| -> morpheus_engine::Result<u64> {
            s.and_then(|s| s.parse().ok())
                .ok_or_else(|| Error::Job("malformed CSV row".into()))
        };
        let people = Rdd::text_file(ctx, &people, 0)?
            .filter(|l| !l.starts_with("id,"))
            .map(move |l| {
                (
                    field(&l, 0).unwrap_or_default(),
                    field(&l, 2).unwrap_or_default(),
                )
            });
        let spent = Rdd::text_file(ctx, &purchases, 0)?
            .filter(|l| !l.starts_with("person,"))
            .map(move |l| {
                (
                    field(&l, 0).unwrap_or_default(),
                    field(&l, 1).unwrap_or_default(),
                )
            })
            .reduce_by_key(|a, b| {
                (a.parse::<u64>().unwrap_or(0) + b.parse::<u64>().unwrap_or(0)).to_string()
            });
        let by_country = people
            .left_outer_join(&spent)
            .map(move |(_, (country, amount))| (country, parse(amount).unwrap_or(0)))
            .reduce_by_key(|a, b| a + b);
        let mut rows = by_country.collect(ctx)?;
        rows.sort();
        Ok(rows)
    })?;
    let total: u64 = (0..5000u64).map(|i| i % 50).sum();
    assert_eq!(results[0].iter().map(|(_, v)| v).sum::<u64>(), total);
    for (country, amount) in &results[0] {
        println!("{country}\t{amount}");
    }
    Ok(())
}
