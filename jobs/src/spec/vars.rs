//! Variables of a spec: `[vars]`, `--set` overrides (only of known keys) and `${name}`
//! substitution.

use std::collections::BTreeMap;

use super::{Ctx, SpecError, SET_FIELDS};
use crate::error::clip;

/// Replaces `${name}` in every string of `value`.
pub(super) fn substitute(
    ctx: &Ctx<'_>,
    at: &str,
    value: &mut toml::Value,
    vars: &BTreeMap<String, String>,
) -> Result<(), SpecError> {
    match value {
        toml::Value::String(s) if s.contains("${") => {
            *s = expand(s, vars).map_err(|m| ctx.err(at, m))?;
        }
        toml::Value::Array(a) => {
            for (i, v) in a.iter_mut().enumerate() {
                substitute(ctx, &format!("{at}[{i}]"), v, vars)?;
            }
        }
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                let loc = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                substitute(ctx, &loc, v, vars)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn expand(s: &str, vars: &BTreeMap<String, String>) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated `${{` in `{}`", clip(s)))?;
        let name = &after[..end];
        let value = vars.get(name).ok_or_else(|| {
            let known: Vec<&str> = vars.keys().map(String::as_str).collect();
            format!(
                "unknown variable `${{{}}}` (defined in [vars]: {}; or pass --set {}=…)",
                clip(name),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                },
                clip(name)
            )
        })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The spec's variables: its `[vars]` (taken out of `doc`) with the `--set` overrides, each
/// expanded; overrides of the top-level fields go into `doc`. A `--set` key that is neither
/// a variable (defined in `[vars]` or used as `${name}`) nor a top-level field is an error.
pub(super) fn variables(
    ctx: &Ctx<'_>,
    text: &str,
    doc: &mut toml::Table,
    set: &[(String, String)],
) -> Result<BTreeMap<String, String>, SpecError> {
    // Overrides: vars, or the top-level scalars.
    let mut vars_table = match doc.remove("vars") {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t,
        Some(other) => {
            return Err(ctx.err(
                "vars",
                format!("expected a table, found {}", other.type_str()),
            ))
        }
    };
    let referenced = referenced_variables(text);
    for (k, v) in set {
        if SET_FIELDS.contains(&k.as_str()) {
            doc.insert(k.clone(), toml::Value::String(v.clone()));
        } else if vars_table.contains_key(k) || referenced.iter().any(|r| r == k) {
            vars_table.insert(k.clone(), toml::Value::String(v.clone()));
        } else {
            let mut known: Vec<&str> = vars_table.keys().map(String::as_str).collect();
            known.extend(referenced.iter().map(String::as_str));
            known.sort_unstable();
            known.dedup();
            return Err(ctx.err(
                "set",
                format!(
                    "unknown key `{}` (the spec's variables: {}; or one of: {})",
                    clip(k),
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    },
                    SET_FIELDS.join(", ")
                ),
            ));
        }
    }
    let mut vars = BTreeMap::new();
    for (k, v) in vars_table {
        let s = match v {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(ctx.err(
                    format!("vars.{k}"),
                    format!("expected a string or number, found {}", other.type_str()),
                ))
            }
        };
        vars.insert(k, s);
    }
    // Variables may refer to earlier-defined ones.
    for _ in 0..4 {
        let snapshot = vars.clone();
        for (k, v) in vars.iter_mut() {
            if v.contains("${") {
                *v = expand(v, &snapshot).map_err(|m| ctx.err(format!("vars.{k}"), m))?;
            }
        }
    }
    Ok(vars)
}

/// The names used as `${name}` in `text`.
fn referenced_variables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_owned());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}
