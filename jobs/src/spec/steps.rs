//! The `[[steps]]` of a spec: each step's kind, fields, schema and expressions checked
//! against the inputs and the steps before it.

use std::collections::{BTreeMap, HashSet};

use morpheus_graph::run::{Algorithm, Params};
use morpheus_rdd::{DataType, Field, Schema};

use super::{
    default_column, known_steps, value_type, AggFn, Aggregate, Ctx, Fields, Input, JoinKind,
    SelectItem, SpecError, Step, StepKind, STEP_KINDS,
};
use crate::expr::Expr;

pub(super) fn parse_step(
    ctx: &Ctx<'_>,
    i: usize,
    v: toml::Value,
    inputs: &BTreeMap<String, Input>,
    steps: &mut [Step],
) -> Result<Step, SpecError> {
    let mut f = Fields::new(ctx, format!("steps[{i}]"), v)?;
    let name = f.str("name")?;
    let kinds: Vec<&str> = STEP_KINDS.iter().copied().filter(|k| f.has(k)).collect();
    let kind = match kinds.as_slice() {
        [k] => *k,
        [] => {
            return Err(ctx.err(
                f.at.clone(),
                format!(
                    "a step needs one of: {} (e.g. algorithm = \"pagerank\"); found only: {}",
                    STEP_KINDS.join(", "),
                    f.table
                        .keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
        many => {
            return Err(ctx.err(
                f.at.clone(),
                format!("a step does one thing; this one has {}", many.join(" and ")),
            ))
        }
    };
    let name = name.unwrap_or_else(|| format!("{kind}{i}"));
    f.at = format!("steps[{i}] ({name})");
    if steps.iter().any(|s| s.name == name) || inputs.contains_key(&name) {
        return Err(ctx.err(
            f.loc("name"),
            format!("`{name}` is already the name of an input or an earlier step"),
        ));
    }
    let at = f.at.clone();
    // A table by name: an earlier table step, or a dataset input (read implicitly).
    let table = |f: &Fields<'_, '_>,
                 field: &str,
                 name: &str|
     -> Result<(Schema, Option<String>), SpecError> {
        if let Some(s) = steps.iter().find(|s| s.name == name) {
            return match &s.schema {
                Some(schema) => Ok((schema.clone(), s.key.clone())),
                None => Err(ctx.err(
                    f.loc(field),
                    format!("`{name}` is a graph step; this field takes a table"),
                )),
            };
        }
        match inputs.get(name) {
            Some(Input::Dataset { schema, key, .. }) => Ok((schema.clone(), key.clone())),
            Some(Input::Store { .. }) => Err(ctx.err(
                f.loc(field),
                format!("`{name}` is a store; load it (load = \"{name}\") and run an algorithm"),
            )),
            None => Err(ctx.err(
                f.loc(field),
                format!("no input or step named `{name}` ({})", known_steps(steps)),
            )),
        }
    };
    let compile = |f: &Fields<'_, '_>, field: &str, src: &str, schema: &Schema, predicate: bool| {
        let r = if predicate {
            Expr::compile_predicate(src, schema)
        } else {
            Expr::compile(src, schema)
        };
        r.map_err(|e| ctx.err(f.loc(field), expr_error(src, &e)))
    };
    let col =
        |f: &Fields<'_, '_>, field: &str, schema: &Schema, c: &str| -> Result<usize, SpecError> {
            schema.index_of(c).ok_or_else(|| {
                ctx.err(
                    f.loc(field),
                    format!(
                        "no column `{c}` (columns: {})",
                        schema.names().collect::<Vec<_>>().join(", ")
                    ),
                )
            })
        };
    let (kind, schema, key, fields): (StepKind, Option<Schema>, Option<String>, &[&str]) =
        match kind {
            "load" => {
                let input = f.req_str("load")?;
                match inputs.get(&input) {
                    Some(Input::Store { .. }) => {}
                    _ => {
                        return Err(
                            ctx.err(f.loc("load"), format!("`{input}` is not a store input"))
                        )
                    }
                }
                (StepKind::Load { input }, None, None, &["name", "load"])
            }
            "subgraph" => {
                let graph = graph_ref(ctx, &mut f, "subgraph", inputs, steps)?;
                let vschema = Schema::new(vec![Field::new("id", DataType::Int64, false)]);
                let eschema = Schema::new(vec![
                    Field::new("src", DataType::Int64, false),
                    Field::new("dst", DataType::Int64, false),
                    Field::new("weight", DataType::Float64, false),
                ]);
                let vertices = match f.str("vertices")? {
                    Some(src) => Some(compile(&f, "vertices", &src, &vschema, true)?),
                    None => None,
                };
                let edges = match f.str("edges")? {
                    Some(src) => Some(compile(&f, "edges", &src, &eschema, true)?),
                    None => None,
                };
                (
                    StepKind::Subgraph {
                        graph,
                        vertices,
                        edges,
                    },
                    None,
                    None,
                    &["name", "subgraph", "vertices", "edges"],
                )
            }
            "algorithm" => {
                let a = f.req_str("algorithm")?;
                let algorithm: Algorithm = a
                    .parse()
                    .map_err(|m: String| ctx.err(f.loc("algorithm"), m))?;
                if algorithm == Algorithm::Path {
                    return Err(ctx.err(
                        f.loc("algorithm"),
                        "path has no per-vertex output; use `morpheus algo path`",
                    ));
                }
                let graph = match f.has("graph") {
                    true => graph_ref(ctx, &mut f, "graph", inputs, steps)?,
                    false => implicit_graph(ctx, &f, inputs, steps)?,
                };
                let params = Params {
                    source: f.uint("source")?,
                    target: None,
                    iterations: f.uint("iterations")?.map(|n| n as usize),
                    damping: f.float("damping")?,
                    tolerance: f.float("tolerance")?,
                    personalized: match f.array("personalized")? {
                        None => Vec::new(),
                        Some(a) => a
                            .into_iter()
                            .map(|v| match v {
                                toml::Value::Integer(i) if i >= 0 => Ok(i as u64),
                                other => Err(ctx.err(
                                    f.loc("personalized"),
                                    format!("expected vertex ids, found {other}"),
                                )),
                            })
                            .collect::<Result<_, _>>()?,
                    },
                    graphx: f.bool("graphx")?.unwrap_or(false),
                    max_depth: None,
                    in_degree: match f.str("direction")?.as_deref() {
                        None | Some("out") => false,
                        Some("in") => true,
                        Some(other) => {
                            return Err(ctx.err(
                                f.loc("direction"),
                                format!("expected \"in\" or \"out\", found `{other}`"),
                            ))
                        }
                    },
                };
                if matches!(algorithm, Algorithm::Bfs | Algorithm::Sssp) && params.source.is_none()
                {
                    return Err(ctx.err(
                        f.loc("source"),
                        format!("{algorithm} needs a source vertex"),
                    ));
                }
                if let Some(d) = params.damping {
                    if !(0.0..=1.0).contains(&d) {
                        return Err(
                            ctx.err(f.loc("damping"), format!("must be in [0, 1], found {d}"))
                        );
                    }
                }
                let column = f
                    .str("column")?
                    .unwrap_or_else(|| default_column(algorithm).to_owned());
                if column == "id" {
                    return Err(ctx.err(
                        f.loc("column"),
                        "`id` is the vertex column; pick another name",
                    ));
                }
                let schema = Schema::new(vec![
                    Field::new("id", DataType::Int64, false),
                    Field::new(column, value_type(algorithm), false),
                ]);
                (
                    StepKind::Algorithm {
                        graph,
                        algorithm,
                        params,
                    },
                    Some(schema),
                    Some("id".to_owned()),
                    &[
                        "name",
                        "algorithm",
                        "graph",
                        "source",
                        "iterations",
                        "damping",
                        "tolerance",
                        "personalized",
                        "graphx",
                        "direction",
                        "column",
                    ],
                )
            }
            "read" => {
                let input = f.req_str("read")?;
                let (schema, key) = table(&f, "read", &input)?;
                if !matches!(inputs.get(&input), Some(Input::Dataset { .. })) {
                    return Err(ctx.err(f.loc("read"), format!("`{input}` is not a dataset input")));
                }
                (
                    StepKind::Read { input },
                    Some(schema),
                    key,
                    &["name", "read"],
                )
            }
            "join" => {
                let left = f.req_str("join")?;
                let right = f.req_str("with")?;
                let (ls, lk) = table(&f, "join", &left)?;
                let (rs, rk) = table(&f, "with", &right)?;
                let on = f.str("on")?;
                let left_on = f.str("left_on")?.or_else(|| on.clone()).or(lk.clone());
                let right_on = f.str("right_on")?.or(on).or(rk);
                let left_on = left_on.ok_or_else(|| {
                    ctx.err(
                        at.clone(),
                        format!("`{left}` has no key column; set on = \"…\" or left_on"),
                    )
                })?;
                let right_on = right_on.ok_or_else(|| {
                    ctx.err(
                        at.clone(),
                        format!("`{right}` has no key column; set on = \"…\" or right_on"),
                    )
                })?;
                let left_key = col(&f, "left_on", &ls, &left_on)?;
                let right_key = col(&f, "right_on", &rs, &right_on)?;
                let (lt, rt) = (
                    ls.fields[left_key].data_type,
                    rs.fields[right_key].data_type,
                );
                if lt != rt {
                    return Err(ctx.err(
                        at.clone(),
                        format!(
                            "join keys differ in type: `{left_on}` is {lt}, `{right_on}` is {rt}"
                        ),
                    ));
                }
                let how = match f.str("how")?.as_deref() {
                    None | Some("inner") => JoinKind::Inner,
                    Some("left") => JoinKind::Left,
                    Some("outer") | Some("full") => JoinKind::Outer,
                    Some(other) => {
                        return Err(ctx.err(
                            f.loc("how"),
                            format!("expected inner, left or outer, found `{other}`"),
                        ))
                    }
                };
                let broadcast_rows = f.uint("broadcast_rows")?.unwrap_or(2_000_000);
                let schema = join_schema(&ls, left_key, &rs, right_key, &right, how);
                let key = Some(schema.fields[0].name.clone());
                (
                    StepKind::Join {
                        left,
                        right,
                        left_key,
                        right_key,
                        how,
                        broadcast_rows,
                    },
                    Some(schema),
                    key,
                    &[
                        "name",
                        "join",
                        "with",
                        "on",
                        "left_on",
                        "right_on",
                        "how",
                        "broadcast_rows",
                    ],
                )
            }
            "filter" => {
                let input = f.req_str("input")?;
                let (schema, key) = table(&f, "input", &input)?;
                let src = f.req_str("filter")?;
                let predicate = compile(&f, "filter", &src, &schema, true)?;
                (
                    StepKind::Filter { input, predicate },
                    Some(schema),
                    key,
                    &["name", "input", "filter"],
                )
            }
            "select" => {
                let input = f.req_str("input")?;
                let (schema, key) = table(&f, "input", &input)?;
                let raw = f.array("select")?.unwrap_or_default();
                if raw.is_empty() {
                    return Err(ctx.err(f.loc("select"), "select at least one column"));
                }
                let mut items = Vec::new();
                let mut out: Vec<Field> = Vec::new();
                for (j, v) in raw.into_iter().enumerate() {
                    let loc = format!("{}[{j}]", f.loc("select"));
                    let (item, field) = match v {
                        toml::Value::String(c) => {
                            let k = schema.index_of(&c).ok_or_else(|| {
                                ctx.err(
                                    loc.clone(),
                                    format!(
                                        "no column `{c}` (columns: {})",
                                        schema.names().collect::<Vec<_>>().join(", ")
                                    ),
                                )
                            })?;
                            (SelectItem::Column(k), schema.fields[k].clone())
                        }
                        toml::Value::Table(t) => {
                            let mut d = Fields {
                                ctx,
                                at: loc.clone(),
                                table: t,
                            };
                            let name = d.req_str("name")?;
                            let src = d.req_str("expr")?;
                            d.finish(&["name", "expr"])?;
                            let e = Expr::compile(&src, &schema).map_err(|e| {
                                ctx.err(format!("{loc}.expr"), expr_error(&src, &e))
                            })?;
                            let ty = e.data_type().ok_or_else(|| {
                            ctx.err(format!("{loc}.expr"), "the expression is always null; give it a type, e.g. (int null)")
                        })?;
                            let field = Field::new(name, ty, e.nullable());
                            (SelectItem::Derived(e), field)
                        }
                        other => {
                            return Err(ctx.err(
                                loc,
                                format!(
                                    "expected a column name or {{ name, expr }}, found {other}"
                                ),
                            ))
                        }
                    };
                    if out.iter().any(|x| x.name == field.name) {
                        return Err(
                            ctx.err(loc, format!("column `{}` is selected twice", field.name))
                        );
                    }
                    items.push(item);
                    out.push(field);
                }
                let key = key.filter(|k| out.iter().any(|x| &x.name == k));
                (
                    StepKind::Select { input, items },
                    Some(Schema::new(out)),
                    key,
                    &["name", "input", "select"],
                )
            }
            "aggregate" => {
                let input = f.req_str("input")?;
                let (schema, _) = table(&f, "input", &input)?;
                let group = f.strings("group_by")?.unwrap_or_default();
                let mut group_by = Vec::new();
                let mut out = Vec::new();
                for g in &group {
                    let k = col(&f, "group_by", &schema, g)?;
                    group_by.push(k);
                    out.push(schema.fields[k].clone());
                }
                let raw = f.array("aggregate")?.unwrap_or_default();
                if raw.is_empty() {
                    return Err(ctx.err(
                    f.loc("aggregate"),
                    "list at least one aggregate, e.g. aggregate = [{ fn = \"count\", as = \"n\" }]",
                ));
                }
                let mut aggregates = Vec::new();
                for (j, v) in raw.into_iter().enumerate() {
                    let loc = format!("{}[{j}]", f.loc("aggregate"));
                    let mut a = Fields::new(ctx, loc.clone(), v)?;
                    let func = match a.req_str("fn")?.as_str() {
                        "sum" => AggFn::Sum,
                        "count" => AggFn::Count,
                        "min" => AggFn::Min,
                        "max" => AggFn::Max,
                        "mean" | "avg" => AggFn::Mean,
                        other => {
                            return Err(ctx.err(
                                format!("{loc}.fn"),
                                format!(
                                "unknown aggregate `{other}` (expected sum, count, min, max, mean)"
                            ),
                            ))
                        }
                    };
                    let column = match a.str("column")? {
                        None if func == AggFn::Count => None,
                        None => {
                            return Err(ctx.err(
                                format!("{loc}.column"),
                                "missing (required except for count)",
                            ))
                        }
                        Some(c) => Some(col(&a, "column", &schema, &c)?),
                    };
                    let ty = match (func, column.map(|c| schema.fields[c].data_type)) {
                        (AggFn::Count, _) => DataType::Int64,
                        (AggFn::Mean, Some(DataType::Int64 | DataType::Float64)) => {
                            DataType::Float64
                        }
                        (AggFn::Sum, Some(t @ (DataType::Int64 | DataType::Float64))) => t,
                        (AggFn::Min | AggFn::Max, Some(t)) => t,
                        (_, Some(t)) => {
                            return Err(ctx.err(
                                format!("{loc}.column"),
                                format!("cannot {func:?} a {t} column", func = func).to_lowercase(),
                            ))
                        }
                        (_, None) => DataType::Int64,
                    };
                    let name = match a.str("as")? {
                        Some(n) => n,
                        None => match column {
                            Some(c) => format!(
                                "{}_{}",
                                format!("{func:?}").to_lowercase(),
                                schema.fields[c].name
                            ),
                            None => "count".to_owned(),
                        },
                    };
                    a.finish(&["fn", "column", "as"])?;
                    if out.iter().any(|x: &Field| x.name == name) {
                        return Err(ctx.err(
                            loc,
                            format!("column `{name}` appears twice; rename it with `as`"),
                        ));
                    }
                    out.push(Field::new(name.clone(), ty, func != AggFn::Count));
                    aggregates.push(Aggregate { func, column, name });
                }
                let key = (group.len() == 1).then(|| group[0].clone());
                (
                    StepKind::Aggregate {
                        input,
                        group_by,
                        aggregates,
                    },
                    Some(Schema::new(out)),
                    key,
                    &["name", "input", "aggregate", "group_by"],
                )
            }
            "top" => {
                let input = f.req_str("input")?;
                let (schema, key) = table(&f, "input", &input)?;
                let k = f.uint("top")?.unwrap_or(0);
                if k == 0 || k > 10_000_000 {
                    return Err(ctx.err(f.loc("top"), format!("must be 1 to 10000000, found {k}")));
                }
                let by_name = f.req_str("by")?;
                let by = col(&f, "by", &schema, &by_name)?;
                let descending = match f.str("order")?.as_deref() {
                    None | Some("desc") => true,
                    Some("asc") => false,
                    Some(other) => {
                        return Err(ctx.err(
                            f.loc("order"),
                            format!("expected \"desc\" or \"asc\", found `{other}`"),
                        ))
                    }
                };
                (
                    StepKind::Top {
                        input,
                        k: k as usize,
                        by,
                        descending,
                    },
                    Some(schema),
                    key,
                    &["name", "input", "top", "by", "order"],
                )
            }
            _ => unreachable!("kinds come from STEP_KINDS"),
        };
    f.finish(fields)?;
    Ok(Step {
        name,
        kind,
        schema,
        key,
    })
}

/// The graph a field names: a graph step, or a store input (loaded implicitly: the caller
/// adds a load step).
fn graph_ref(
    ctx: &Ctx<'_>,
    f: &mut Fields<'_, '_>,
    field: &str,
    inputs: &BTreeMap<String, Input>,
    steps: &[Step],
) -> Result<String, SpecError> {
    let name = f.req_str(field)?;
    if let Some(s) = steps.iter().find(|s| s.name == name) {
        if s.schema.is_some() {
            return Err(ctx.err(
                f.loc(field),
                format!("`{name}` is a table step, not a graph"),
            ));
        }
        return Ok(name);
    }
    match inputs.get(&name) {
        Some(Input::Store { .. }) => Ok(format!("@{name}")),
        Some(Input::Dataset { .. }) => Err(ctx.err(
            f.loc(field),
            format!("`{name}` is a dataset; graphs come from store inputs"),
        )),
        None => Err(ctx.err(
            f.loc(field),
            format!(
                "no graph step or store input named `{name}` ({})",
                known_steps(steps)
            ),
        )),
    }
}

/// The graph of an algorithm step without a `graph` field: the latest graph step, else the
/// only store input.
fn implicit_graph(
    ctx: &Ctx<'_>,
    f: &Fields<'_, '_>,
    inputs: &BTreeMap<String, Input>,
    steps: &[Step],
) -> Result<String, SpecError> {
    if let Some(s) = steps.iter().rev().find(|s| s.schema.is_none()) {
        return Ok(s.name.clone());
    }
    let stores: Vec<&String> = inputs
        .iter()
        .filter(|(_, i)| matches!(i, Input::Store { .. }))
        .map(|(n, _)| n)
        .collect();
    match stores.as_slice() {
        [one] => Ok(format!("@{one}")),
        [] => Err(ctx.err(f.at.clone(), "no store input to run the algorithm on")),
        _ => Err(ctx.err(
            f.loc("graph"),
            "several store inputs: name the one to use with graph = \"…\"",
        )),
    }
}

/// Output schema of a join: the key, the left's other columns, the right's other columns
/// (renamed `<right>_<column>` when the left has the name already).
pub fn join_schema(
    left: &Schema,
    left_key: usize,
    right: &Schema,
    right_key: usize,
    right_name: &str,
    how: JoinKind,
) -> Schema {
    let mut out = Vec::with_capacity(left.len() + right.len() - 1);
    let k = &left.fields[left_key];
    out.push(Field::new(
        k.name.clone(),
        k.data_type,
        k.nullable || right.fields[right_key].nullable,
    ));
    for (i, f) in left.fields.iter().enumerate() {
        if i != left_key {
            out.push(Field::new(
                f.name.clone(),
                f.data_type,
                f.nullable || how == JoinKind::Outer,
            ));
        }
    }
    let taken: HashSet<String> = out.iter().map(|f| f.name.clone()).collect();
    for (i, f) in right.fields.iter().enumerate() {
        if i != right_key {
            let name = if taken.contains(&f.name) {
                format!("{right_name}_{}", f.name)
            } else {
                f.name.clone()
            };
            out.push(Field::new(
                name,
                f.data_type,
                f.nullable || how != JoinKind::Inner,
            ));
        }
    }
    Schema::new(out)
}

/// An expression error as a spec error's message: the expression and the error each quoted
/// briefly (an expression can be as long as the spec, and the error quotes its tokens).
fn expr_error(src: &str, e: &impl std::fmt::Display) -> String {
    format!(
        "in `{}`: {}",
        crate::error::clip(src),
        crate::error::clip_to(&e.to_string(), 4 * crate::error::CLIP_BYTES)
    )
}
