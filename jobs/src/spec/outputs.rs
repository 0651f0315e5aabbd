//! The `[[outputs]]` of a spec, each checked so that it destroys nothing (see
//! [`super::paths`]).

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::clip;

use super::{
    known_steps, paths, resolve, Ctx, Fields, Format, Input, LoadOptions, Output, Overwrite,
    SpecError, Step,
};

/// What checking outputs needs from the rest of the spec.
pub(super) struct Context<'a> {
    pub base: &'a Path,
    pub steps: &'a [Step],
    pub inputs: &'a BTreeMap<String, Input>,
    pub spec_path: Option<&'a Path>,
    pub options: &'a LoadOptions,
}

/// Parses every `[[outputs]]` entry; none may overwrite an input, a store, the spec file
/// or (with a data root) anything outside it or in the server's state.
pub(super) fn parse_outputs(
    ctx: &Ctx<'_>,
    raw: Vec<toml::Value>,
    c: &Context<'_>,
) -> Result<Vec<Output>, SpecError> {
    let (base, steps, inputs, spec_path, options) =
        (c.base, c.steps, c.inputs, c.spec_path, c.options);
    let confine = options.data_root.as_deref().map(|root| paths::Confine {
        data_root: root,
        state_dir: options.state_dir.as_deref(),
    });
    let mut protected = paths::Protected::default();
    for (name, input) in inputs {
        match input {
            Input::Store { path } => protected.add(path, format!("the store of input `{name}`")),
            Input::Dataset { path, .. } => protected.add(path, format!("input `{name}`")),
        }
    }
    if let Some(p) = spec_path {
        let p = resolve(
            &std::env::current_dir().unwrap_or_default(),
            &p.to_string_lossy(),
        );
        protected.add(&p, "the spec file");
    }
    let mut outputs: Vec<Output> = Vec::new();
    for (i, v) in raw.into_iter().enumerate() {
        let out = OutputCheck {
            ctx,
            base,
            steps,
            confine: confine.as_ref(),
            protected: &protected,
        }
        .parse(i, v, &outputs)?;
        outputs.push(out);
    }
    Ok(outputs)
}

/// Parses and checks one `[[outputs]]` entry.
struct OutputCheck<'a> {
    ctx: &'a Ctx<'a>,
    base: &'a Path,
    steps: &'a [Step],
    confine: Option<&'a paths::Confine<'a>>,
    protected: &'a paths::Protected,
}

impl OutputCheck<'_> {
    fn parse(&self, i: usize, v: toml::Value, outputs: &[Output]) -> Result<Output, SpecError> {
        let at = format!("outputs[{i}]");
        let ctx = self.ctx;
        let steps = self.steps;
        let mut o = Fields::new(ctx, at.clone(), v)?;
        let step = o.req_str("step")?;
        match steps.iter().find(|s| s.name == step) {
            None => {
                return Err(ctx.err(
                    format!("{at}.step"),
                    format!("no step named `{step}` ({})", known_steps(steps)),
                ))
            }
            Some(s) if s.schema.is_none() => {
                return Err(ctx.err(
                    format!("{at}.step"),
                    format!("`{step}` is a graph; outputs take table steps"),
                ))
            }
            Some(_) => {}
        }
        let raw_path = o.req_str("path")?;
        let path = resolve(self.base, &raw_path);
        paths::check_output(&raw_path, &path, self.confine, self.protected)
            .map_err(|m| ctx.err(format!("{at}.path"), m))?;
        let format = match o.str("format")? {
            Some(f) => f.parse().map_err(|m| ctx.err(format!("{at}.format"), m))?,
            None => Format::from_extension(&path).ok_or_else(|| {
                ctx.err(
                    format!("{at}.format"),
                    format!(
                        "cannot tell the format of `{}` from its extension; set \
                         format = \"parquet\", \"csv\" or \"arrow\"",
                        clip(&raw_path)
                    ),
                )
            })?,
        };
        if format == Format::JsonLines {
            return Err(ctx.err(
                format!("{at}.format"),
                "jsonl is an input format; outputs are parquet, csv or arrow",
            ));
        }
        let overwrite = match o.str("overwrite")?.as_deref() {
            None | Some("replace") => Overwrite::Replace,
            Some("error") => Overwrite::Error,
            Some(other) => {
                return Err(ctx.err(
                    format!("{at}.overwrite"),
                    format!("expected \"replace\" or \"error\", found `{}`", clip(other)),
                ))
            }
        };
        if overwrite == Overwrite::Error && path.exists() {
            return Err(ctx.err(
                format!("{at}.path"),
                format!("{} exists and overwrite = \"error\"", path.display()),
            ));
        }
        let partitioned = o.bool("partitioned")?.unwrap_or(false);
        o.finish(&["step", "path", "format", "overwrite", "partitioned"])?;
        if outputs.iter().any(|x: &Output| x.path == path) {
            return Err(ctx.err(
                format!("{at}.path"),
                format!("{} is written by another output too", path.display()),
            ));
        }
        Ok(Output {
            step,
            path,
            format,
            overwrite,
            partitioned,
        })
    }
}
