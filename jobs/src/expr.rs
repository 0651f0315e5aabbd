//! A small, safe S-expression language for filters and derived columns in job specs.
//!
//! An expression is compiled once against a [`Schema`] with [`Expr::compile`]: it is parsed,
//! its column references are resolved to positions and it is type-checked. Evaluating the
//! compiled [`Expr`] on a row ([`Expr::eval`], [`Expr::matches`]) cannot fail and never
//! panics; problems such as overflow or division by zero yield null.
//!
//! ```
//! use morpheus_jobs::expr::Expr;
//! use morpheus_rdd::{DataType, Field, Schema, Value};
//!
//! let schema = Schema::new(vec![
//!     Field::new("rank", DataType::Float64, false),
//!     Field::new("country", DataType::Utf8, true),
//! ]);
//! let filter = Expr::compile_predicate(r#"(and (> rank 0.001) (= country "NZ"))"#, &schema)?;
//! assert!(filter.matches(&[Value::Float(0.5), Value::from("NZ")]));
//! assert!(!filter.matches(&[Value::Float(0.5), Value::Null]));
//!
//! let label = Expr::compile(r#"(concat country ":" (round (* rank 100)))"#, &schema)?;
//! assert_eq!(label.data_type(), Some(DataType::Utf8));
//! assert_eq!(label.eval(&[Value::Float(0.123), Value::from("NZ")]), Value::from("NZ:12.0"));
//! # Ok::<(), morpheus_jobs::expr::ExprError>(())
//! ```
//!
//! # Syntax
//!
//! An expression is an atom or a form `(operator argument...)`. Whitespace separates items;
//! `;` starts a comment that runs to the end of the line. Forms nest at most 256 deep.
//!
//! | Atom    | Examples                                  | Type              |
//! |---------|-------------------------------------------|-------------------|
//! | integer | `42`, `-7`                                | `Int64`           |
//! | float   | `0.001`, `1e-3`, `-2.5`                   | `Float64`         |
//! | string  | `"NZ"`, `"a \"b\"\n"`                     | `Utf8`            |
//! | boolean | `true`, `false`                           | `Bool`            |
//! | null    | `null`                                    | any type          |
//! | column  | `rank`, `_id`, `user.name`                | the column's type |
//!
//! Strings accept the escapes `\"`, `\\`, `\n` and `\t`. A bare column name starts with a
//! letter or `_` and continues with letters, digits, `_` and `.`; other column names are
//! written as `(col "page rank")`.
//!
//! # Operators
//!
//! | Operators                            | Arguments → result                                      |
//! |--------------------------------------|---------------------------------------------------------|
//! | `and`, `or`                          | one or more `Bool` → `Bool`                             |
//! | `not`                                | `Bool` → `Bool`                                         |
//! | `=` `!=` `<` `<=` `>` `>=`           | two comparable values → `Bool`                          |
//! | `in`                                 | `(in x v1 v2 ...)`: whether `x` equals one of the `v`s  |
//! | `+` `*`                              | one or more numbers → number                            |
//! | `-`                                  | `(- a b)` difference, `(- a)` negation                  |
//! | `/` `%`                              | two numbers → quotient, remainder                       |
//! | `abs` `round` `floor` `ceil`         | number → number of the same type                        |
//! | `concat`                             | one or more values of any type → `Utf8`                 |
//! | `lower` `upper`                      | `Utf8` → `Utf8`                                         |
//! | `length`                             | `Utf8` → `Int64`, in characters                         |
//! | `contains` `starts-with` `ends-with` | `Utf8`, `Utf8` → `Bool`                                 |
//! | `substr`                             | `(substr s start len)`: `Utf8`, `Int64`, `Int64` → `Utf8` |
//! | `is-null` `is-not-null`              | any → `Bool`, never null                                |
//! | `coalesce`                           | one or more values → the first that is not null        |
//! | `if`                                 | `(if cond then else)`: `else` also when `cond` is null  |
//! | `int` `float` `str`                  | casts                                                   |
//!
//! # Types and nulls
//!
//! - Types are checked when compiling: an unknown column or operator, a wrong number of
//!   arguments or an argument of the wrong type is an [`ExprError`] with its position.
//! - Comparable values (for comparisons and `in`) are two numbers (`Int64` and `Float64`
//!   compare exactly by value), two strings (by Unicode code point) or two booleans
//!   (`false < true`). Floats follow IEEE 754: NaN equals nothing, not even itself.
//! - Null is contagious: an operator with a null argument yields null, except
//!   `and`/`or` (three-valued: `(or null true)` is `true`, `(and null false)` is `false`),
//!   `is-null`, `is-not-null`, `coalesce`, `if` and `in` (`true` when `x` equals some
//!   non-null `v`, else null when `x` or some `v` is null, else `false`).
//! - Arithmetic on integers gives an integer (`/` truncates toward zero) and null on
//!   overflow; with any float argument every argument is converted to a float first.
//!   Division or remainder by zero (also `0.0`) is null. `round` rounds half away from zero.
//! - `coalesce` arguments and the branches of `if` must share a type; `Int64` and
//!   `Float64` mix to `Float64`.
//! - `concat` and `str` render values as text: `true`, `42`, `1.0`, `1e300`, `NaN`.
//! - `substr` counts characters from 0; a range past the end is cut short and a negative
//!   start or length gives null.
//! - `int` truncates floats toward zero and parses strings as decimal integers (surrounding
//!   whitespace allowed); `float` parses strings as decimal floats (also `inf` and `NaN`);
//!   `true`/`false` cast to 1/0. A string that does not parse, NaN or a float out of
//!   `Int64` range gives null.
//! - A filter keeps a row only when it evaluates to `true` ([`Expr::matches`]): `false` and
//!   null drop it.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::{self, Write as _};

use morpheus_rdd::{DataType, Schema, Value};

/// Deepest allowed nesting of forms.
const MAX_DEPTH: usize = 256;

/// Every operator name, for error messages.
const OPERATORS: &[&str] = &[
    "and",
    "or",
    "not",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "+",
    "-",
    "*",
    "/",
    "%",
    "abs",
    "round",
    "floor",
    "ceil",
    "concat",
    "lower",
    "upper",
    "length",
    "contains",
    "starts-with",
    "ends-with",
    "substr",
    "is-null",
    "is-not-null",
    "coalesce",
    "if",
    "int",
    "float",
    "str",
    "col",
];

/// A compile error: what went wrong and where in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    /// Byte offset into the source.
    pub pos: usize,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub col: usize,
    /// What went wrong.
    pub message: String,
}

impl ExprError {
    fn new(src: &str, pos: usize, message: impl Into<String>) -> Self {
        let pos = pos.min(src.len());
        let before = src.get(..pos).unwrap_or(src);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            pos,
            line: before.matches('\n').count() + 1,
            col: before.get(line_start..).map_or(0, |l| l.chars().count()) + 1,
            message: message.into(),
        }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.col, self.message
        )
    }
}

impl std::error::Error for ExprError {}

/// A compiled expression: parsed, type-checked, columns resolved to positions.
///
/// Cheap to evaluate and safe to share between threads.
#[derive(Clone)]
pub struct Expr {
    source: String,
    root: Node,
    data_type: Option<DataType>,
    nullable: bool,
    columns: Vec<String>,
}

impl Expr {
    /// Parses and type-checks `src` against `schema`.
    pub fn compile(src: &str, schema: &Schema) -> Result<Expr, ExprError> {
        let sx = Parser { src, pos: 0 }.parse()?;
        let mut checker = Checker {
            src,
            schema,
            columns: Vec::new(),
        };
        let typed = checker.check(&sx)?;
        Ok(Expr {
            source: src.to_owned(),
            root: typed.node,
            data_type: typed.ty,
            nullable: typed.nullable,
            columns: checker.columns,
        })
    }

    /// Like [`Expr::compile`], and also requires a boolean (or null) result, as a filter
    /// needs.
    pub fn compile_predicate(src: &str, schema: &Schema) -> Result<Expr, ExprError> {
        let expr = Self::compile(src, schema)?;
        match expr.data_type {
            None | Some(DataType::Bool) => Ok(expr),
            Some(t) => Err(ExprError::new(
                src,
                0,
                format!("filter must be a boolean expression, this one is {t}"),
            )),
        }
    }

    /// Result type (`None`: the expression is the null literal, or always null).
    pub fn data_type(&self) -> Option<DataType> {
        self.data_type
    }

    /// Whether evaluation may give null (a conservative answer: `true` when unsure).
    pub fn nullable(&self) -> bool {
        self.nullable
    }

    /// Names of the columns it reads, each once, in order of first mention.
    pub fn columns(&self) -> Vec<String> {
        self.columns.clone()
    }

    /// Evaluates on one row laid out by the schema given to compile. Never panics: a value
    /// missing from the row or not of its column's type reads as null.
    pub fn eval(&self, row: &[Value]) -> Value {
        self.root.eval(row).into_value()
    }

    /// For filters: true only when [`Expr::eval`] is `Bool(true)` (null and false drop the
    /// row). Allocates nothing unless the expression builds strings.
    pub fn matches(&self, row: &[Value]) -> bool {
        matches!(self.root.eval(row), V::Bool(true))
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// Same as [`Expr::compile_predicate`]: compiles a filter, which must be boolean.
pub fn compile_predicate(src: &str, schema: &Schema) -> Result<Expr, ExprError> {
    Expr::compile_predicate(src, schema)
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expr")
            .field("source", &self.source)
            .field("data_type", &self.data_type)
            .field("nullable", &self.nullable)
            .field("columns", &self.columns)
            .finish()
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

// ---------------------------------------------------------------------------------------
// Parsing

/// A parsed item with the byte offset where it starts.
#[derive(Debug)]
struct Sx {
    pos: usize,
    kind: SxKind,
}

#[derive(Debug)]
enum SxKind {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
    Sym(String),
    List(Vec<Sx>),
}

struct Parser<'s> {
    src: &'s str,
    pos: usize,
}

impl Parser<'_> {
    fn parse(mut self) -> Result<Sx, ExprError> {
        self.skip_space();
        if self.peek().is_none() {
            return Err(self.err(self.pos, "empty expression"));
        }
        let sx = self.expr(0)?;
        self.skip_space();
        match self.peek() {
            None => Ok(sx),
            Some(')') => Err(self.err(self.pos, "unbalanced parentheses: unexpected `)`")),
            Some(_) => Err(self.err(self.pos, "trailing input after the expression")),
        }
    }

    fn err(&self, pos: usize, message: impl Into<String>) -> ExprError {
        ExprError::new(self.src, pos, message)
    }

    fn peek(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c == ';' {
                while self.bump().is_some_and(|c| c != '\n') {}
            } else if c.is_whitespace() {
                self.bump();
            } else {
                break;
            }
        }
    }

    /// One item; `depth` forms enclose it.
    fn expr(&mut self, depth: usize) -> Result<Sx, ExprError> {
        let start = self.pos;
        match self.peek() {
            None => Err(self.err(start, "unexpected end of input")),
            Some('(') => {
                if depth >= MAX_DEPTH {
                    return Err(self.err(
                        start,
                        format!("expression nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                self.bump();
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    match self.peek() {
                        None => {
                            return Err(
                                self.err(start, "unbalanced parentheses: this `(` is never closed")
                            )
                        }
                        Some(')') => {
                            self.bump();
                            break;
                        }
                        Some(_) => items.push(self.expr(depth + 1)?),
                    }
                }
                if items.is_empty() {
                    return Err(self.err(start, "empty form `()`"));
                }
                Ok(Sx {
                    pos: start,
                    kind: SxKind::List(items),
                })
            }
            Some(')') => Err(self.err(start, "unbalanced parentheses: unexpected `)`")),
            Some('"') => self.string(),
            Some(_) => self.word(),
        }
    }

    fn string(&mut self) -> Result<Sx, ExprError> {
        let start = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            let at = self.pos;
            match self.bump() {
                None => return Err(self.err(start, "unterminated string")),
                Some('"') => break,
                Some('\\') => match self.bump() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    None => return Err(self.err(start, "unterminated string")),
                    Some(c) => {
                        return Err(self.err(
                            at,
                            format!(
                                "unknown escape `\\{c}` in string (use \\\", \\\\, \\n or \\t)"
                            ),
                        ))
                    }
                },
                Some(c) => out.push(c),
            }
        }
        Ok(Sx {
            pos: start,
            kind: SxKind::Str(out),
        })
    }

    /// A number, `true`, `false`, `null` or a symbol: everything up to a space, a
    /// parenthesis, a quote or a comment.
    fn word(&mut self) -> Result<Sx, ExprError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, '(' | ')' | '"' | ';') {
                break;
            }
            self.bump();
        }
        let word = self.src.get(start..self.pos).unwrap_or_default();
        let digits = word.strip_prefix('-').unwrap_or(word);
        let kind = if digits.starts_with(|c: char| c.is_ascii_digit()) {
            self.number(start, word)?
        } else {
            match word {
                "true" => SxKind::Bool(true),
                "false" => SxKind::Bool(false),
                "null" => SxKind::Null,
                _ => SxKind::Sym(word.to_owned()),
            }
        };
        Ok(Sx { pos: start, kind })
    }

    fn number(&self, start: usize, word: &str) -> Result<SxKind, ExprError> {
        let Some(is_float) = number_shape(word) else {
            return Err(self.err(start, format!("invalid number `{word}`")));
        };
        if is_float {
            match word.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(SxKind::Float(x)),
                _ => Err(self.err(start, format!("float literal `{word}` is out of range"))),
            }
        } else {
            word.parse::<i64>().map(SxKind::Int).map_err(|_| {
                self.err(
                    start,
                    format!("integer literal `{word}` is out of range for Int64"),
                )
            })
        }
    }
}

/// Checks `-?digits(.digits)?([eE][+-]?digits)?`; `Some(is_float)` when it matches.
fn number_shape(word: &str) -> Option<bool> {
    fn digits(s: &str) -> (usize, &str) {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (n, &s[n..])
    }
    let s = word.strip_prefix('-').unwrap_or(word);
    let (n, mut s) = digits(s);
    if n == 0 {
        return None;
    }
    let mut is_float = false;
    if let Some(rest) = s.strip_prefix('.') {
        let (n, rest) = digits(rest);
        if n == 0 {
            return None;
        }
        is_float = true;
        s = rest;
    }
    if let Some(rest) = s.strip_prefix(['e', 'E']) {
        let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
        let (n, rest) = digits(rest);
        if n == 0 {
            return None;
        }
        is_float = true;
        s = rest;
    }
    s.is_empty().then_some(is_float)
}

/// Whether `name` may be written as a bare column reference.
fn is_column_symbol(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '.')
}

// ---------------------------------------------------------------------------------------
// Type checking

/// The typed tree that is evaluated.
#[derive(Clone, Debug)]
enum Node {
    Lit(Value),
    /// Column position and type.
    Col(usize, DataType),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Cmp(CmpOp, Box<Node>, Box<Node>),
    In(Box<Node>, Vec<Node>),
    Neg(Num, Box<Node>),
    Arith(ArithOp, Num, Vec<Node>),
    Math(MathFn, Box<Node>),
    Concat(Vec<Node>),
    Lower(Box<Node>),
    Upper(Box<Node>),
    Length(Box<Node>),
    Contains(StrTest, Box<Node>, Box<Node>),
    Substr(Box<Node>, Box<Node>, Box<Node>),
    /// `true`: `is-not-null`.
    IsNull(Box<Node>, bool),
    /// `true`: integers become floats.
    Coalesce(Vec<Node>, bool),
    If(Box<Node>, Box<Node>, Box<Node>, bool),
    Cast(DataType, Box<Node>),
}

#[derive(Clone, Copy, Debug)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug)]
enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// How arithmetic is carried out.
#[derive(Clone, Copy, Debug)]
enum Num {
    Int,
    Float,
}

#[derive(Clone, Copy, Debug)]
enum MathFn {
    Abs,
    Round,
    Floor,
    Ceil,
}

#[derive(Clone, Copy, Debug)]
enum StrTest {
    Contains,
    StartsWith,
    EndsWith,
}

/// A checked subexpression.
struct Typed {
    node: Node,
    ty: Option<DataType>,
    nullable: bool,
    pos: usize,
}

impl Typed {
    fn new(node: Node, ty: Option<DataType>, nullable: bool, pos: usize) -> Self {
        Self {
            node,
            ty,
            nullable,
            pos,
        }
    }

    fn boxed(self) -> Box<Node> {
        Box::new(self.node)
    }
}

/// The nodes of checked arguments.
fn nodes(args: Vec<Typed>) -> Vec<Node> {
    args.into_iter().map(|a| a.node).collect()
}

struct Checker<'s> {
    src: &'s str,
    schema: &'s Schema,
    columns: Vec<String>,
}

fn is_numeric(t: Option<DataType>) -> bool {
    matches!(t, None | Some(DataType::Int64 | DataType::Float64))
}

fn type_name(t: Option<DataType>) -> String {
    t.map_or_else(|| "null".to_owned(), |t| t.to_string())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "argument"
    } else {
        "arguments"
    }
}

/// Edit distance, for suggestions.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `name`, if it is close enough to be a likely typo.
fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = name.chars().count() / 3 + 1;
    candidates
        .into_iter()
        .map(|c| (levenshtein(name, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

// The checker recurses once per level of nesting, through `check`, `form` and the
// function of one operator. These are kept small (messages are built in separate
// functions) so that 256 levels fit comfortably on a thread's stack in debug builds.
impl Checker<'_> {
    fn err(&self, pos: usize, message: impl Into<String>) -> ExprError {
        ExprError::new(self.src, pos, message)
    }

    fn check(&mut self, sx: &Sx) -> Result<Typed, ExprError> {
        let value = match &sx.kind {
            SxKind::List(items) => return self.form(sx.pos, items),
            SxKind::Sym(name) => return self.symbol(name, sx.pos),
            SxKind::Int(n) => Value::Int(*n),
            SxKind::Float(x) => Value::Float(*x),
            SxKind::Str(s) => Value::Str(s.clone()),
            SxKind::Bool(b) => Value::Bool(*b),
            SxKind::Null => Value::Null,
        };
        let ty = value.data_type();
        Ok(Typed::new(Node::Lit(value), ty, ty.is_none(), sx.pos))
    }

    /// Checks every argument.
    fn all(&mut self, args: &[Sx]) -> Result<Vec<Typed>, ExprError> {
        let mut out = Vec::with_capacity(args.len());
        for a in args {
            out.push(self.check(a)?);
        }
        Ok(out)
    }

    fn symbol(&mut self, name: &str, pos: usize) -> Result<Typed, ExprError> {
        if is_column_symbol(name) {
            self.column(name, pos)
        } else {
            Err(self.err(
                pos,
                format!(
                    "`{name}` is not a valid column reference (a bare column name starts with \
                     a letter or `_` and continues with letters, digits, `_` and `.`); write \
                     (col \"{name}\") for other names"
                ),
            ))
        }
    }

    fn column(&mut self, name: &str, pos: usize) -> Result<Typed, ExprError> {
        let Some(index) = self.schema.index_of(name) else {
            return Err(self.unknown_column(name, pos));
        };
        let field = &self.schema.fields[index];
        if !self.columns.iter().any(|c| c == name) {
            self.columns.push(name.to_owned());
        }
        Ok(Typed::new(
            Node::Col(index, field.data_type),
            Some(field.data_type),
            field.nullable,
            pos,
        ))
    }

    fn unknown_column(&self, name: &str, pos: usize) -> ExprError {
        const SHOWN: usize = 20;
        let mut msg = format!("unknown column `{name}`");
        if let Some(c) = closest(name, self.schema.names()) {
            let _ = write!(msg, " (did you mean `{c}`?)");
        }
        if self.schema.is_empty() {
            msg.push_str("; the schema has no columns");
        } else {
            msg.push_str("; available columns: ");
            let names: Vec<String> = self
                .schema
                .names()
                .take(SHOWN)
                .map(|n| format!("`{n}`"))
                .collect();
            msg.push_str(&names.join(", "));
            if self.schema.len() > SHOWN {
                let _ = write!(msg, " and {} more", self.schema.len() - SHOWN);
            }
        }
        self.err(pos, msg)
    }

    fn unknown_operator(&self, op: &str, pos: usize) -> ExprError {
        let mut msg = format!("unknown operator `{op}`");
        match closest(op, OPERATORS.iter().copied()) {
            Some(c) => {
                let _ = write!(msg, "; did you mean `{c}`?");
            }
            None => {
                let _ = write!(msg, "; operators are {}", OPERATORS.join(" "));
            }
        }
        self.err(pos, msg)
    }

    fn not_an_operator(&self, head: &Sx) -> ExprError {
        let found = match head.kind {
            SxKind::List(_) => "a form",
            SxKind::Str(_) => "a string",
            SxKind::Int(_) | SxKind::Float(_) => "a number",
            SxKind::Bool(_) | SxKind::Null => "a literal",
            SxKind::Sym(_) => "a symbol",
        };
        self.err(
            head.pos,
            format!("expected an operator name after `(`, found {found}"),
        )
    }

    /// Checks the number of arguments: at least `min`, at most `max`.
    fn arity(
        &self,
        pos: usize,
        op: &str,
        args: &[Sx],
        min: usize,
        max: Option<usize>,
    ) -> Result<(), ExprError> {
        let n = args.len();
        if n >= min && max.is_none_or(|m| n <= m) {
            return Ok(());
        }
        let expected = match max {
            Some(m) if m == min => format!("{m} {}", plural(m)),
            Some(m) if m == min + 1 => format!("{min} or {m} arguments"),
            Some(m) => format!("{min} to {m} arguments"),
            None => format!("at least {min} {}", plural(min)),
        };
        Err(self.err(pos, format!("`{op}` takes {expected}, found {n}")))
    }

    fn expect(&self, op: &str, arg: &Typed, want: DataType) -> Result<(), ExprError> {
        match arg.ty {
            Some(t) if t != want => Err(self.err(
                arg.pos,
                format!("`{op}` expects a {want} argument here, found {t}"),
            )),
            _ => Ok(()),
        }
    }

    fn expect_numeric(&self, op: &str, arg: &Typed) -> Result<(), ExprError> {
        if is_numeric(arg.ty) {
            Ok(())
        } else {
            Err(self.err(
                arg.pos,
                format!(
                    "`{op}` expects numbers (Int64 or Float64), found {}",
                    type_name(arg.ty)
                ),
            ))
        }
    }

    /// Checks that two values may be compared.
    fn comparable(&self, pos: usize, a: &Typed, b: &Typed) -> Result<(), ExprError> {
        match (a.ty, b.ty) {
            (Some(x), Some(y)) if x != y && !(is_numeric(a.ty) && is_numeric(b.ty)) => {
                Err(self.err(pos, format!("cannot compare {x} with {y}")))
            }
            _ => Ok(()),
        }
    }

    /// The common type of `args` (`Int64` and `Float64` give `Float64`).
    fn unify(&self, what: &str, args: &[&Typed]) -> Result<Option<DataType>, ExprError> {
        let mut acc: Option<DataType> = None;
        for a in args {
            match (acc, a.ty) {
                (_, None) => {}
                (None, t) => acc = t,
                (Some(x), Some(y)) if x == y => {}
                (Some(x), Some(y)) if is_numeric(Some(x)) && is_numeric(Some(y)) => {
                    acc = Some(DataType::Float64);
                }
                (Some(x), Some(y)) => {
                    return Err(self.err(
                        a.pos,
                        format!("{what} must share a type, found {x} and {y}"),
                    ))
                }
            }
        }
        Ok(acc)
    }

    fn form(&mut self, pos: usize, items: &[Sx]) -> Result<Typed, ExprError> {
        let Some((head, args)) = items.split_first() else {
            return Err(self.err(pos, "empty form `()`"));
        };
        let SxKind::Sym(op) = &head.kind else {
            return Err(self.not_an_operator(head));
        };
        let op = op.as_str();
        match op {
            "col" => self.col(pos, args),
            "and" | "or" => self.logic(pos, op, args),
            "not" => self.not(pos, args),
            "=" | "!=" | "<" | "<=" | ">" | ">=" => self.comparison(pos, op, args),
            "in" => self.membership(pos, args),
            "+" | "-" | "*" | "/" | "%" => self.arith(pos, op, args),
            "abs" | "round" | "floor" | "ceil" => self.math(pos, op, args),
            "concat" => self.concat(pos, args),
            "lower" | "upper" | "length" => self.string_fn(pos, op, args),
            "contains" | "starts-with" | "ends-with" => self.string_test(pos, op, args),
            "substr" => self.substr(pos, args),
            "is-null" | "is-not-null" => self.is_null(pos, op, args),
            "coalesce" => self.coalesce(pos, args),
            "if" => self.if_then_else(pos, args),
            "int" | "float" | "str" => self.cast(pos, op, args),
            _ => Err(self.unknown_operator(op, head.pos)),
        }
    }

    fn col(&mut self, pos: usize, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, "col", args, 1, Some(1))?;
        match &args[0].kind {
            SxKind::Str(name) => self.column(name, args[0].pos),
            _ => Err(self.err(
                args[0].pos,
                "`col` takes a string literal naming a column, as in (col \"page rank\")",
            )),
        }
    }

    fn logic(&mut self, pos: usize, op: &str, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, op, args, 1, None)?;
        let args = self.all(args)?;
        for a in &args {
            self.expect(op, a, DataType::Bool)?;
        }
        let nullable = args.iter().any(|a| a.nullable);
        let node = if op == "and" {
            Node::And(nodes(args))
        } else {
            Node::Or(nodes(args))
        };
        Ok(Typed::new(node, Some(DataType::Bool), nullable, pos))
    }

    fn not(&mut self, pos: usize, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, "not", args, 1, Some(1))?;
        let a = self.check(&args[0])?;
        self.expect("not", &a, DataType::Bool)?;
        let nullable = a.nullable;
        Ok(Typed::new(
            Node::Not(a.boxed()),
            Some(DataType::Bool),
            nullable,
            pos,
        ))
    }

    fn comparison(&mut self, pos: usize, op: &str, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, op, args, 2, Some(2))?;
        let a = self.check(&args[0])?;
        let b = self.check(&args[1])?;
        self.comparable(pos, &a, &b)?;
        let op = match op {
            "=" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            _ => CmpOp::Ge,
        };
        let nullable = a.nullable || b.nullable;
        Ok(Typed::new(
            Node::Cmp(op, a.boxed(), b.boxed()),
            Some(DataType::Bool),
            nullable,
            pos,
        ))
    }

    fn membership(&mut self, pos: usize, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, "in", args, 2, None)?;
        let x = self.check(&args[0])?;
        let values = self.all(&args[1..])?;
        for v in &values {
            self.comparable(v.pos, &x, v)?;
        }
        let nullable = x.nullable || values.iter().any(|v| v.nullable);
        Ok(Typed::new(
            Node::In(x.boxed(), nodes(values)),
            Some(DataType::Bool),
            nullable,
            pos,
        ))
    }

    fn arith(&mut self, pos: usize, op: &str, args: &[Sx]) -> Result<Typed, ExprError> {
        match op {
            "+" | "*" => self.arity(pos, op, args, 1, None)?,
            "-" => self.arity(pos, op, args, 1, Some(2))?,
            _ => self.arity(pos, op, args, 2, Some(2))?,
        }
        let mut args = self.all(args)?;
        for a in &args {
            self.expect_numeric(op, a)?;
        }
        let ty = if args.iter().any(|a| a.ty == Some(DataType::Float64)) {
            Some(DataType::Float64)
        } else if args.iter().any(|a| a.ty == Some(DataType::Int64)) {
            Some(DataType::Int64)
        } else {
            None
        };
        let num = if ty == Some(DataType::Float64) {
            Num::Float
        } else {
            Num::Int
        };
        let args_nullable = args.iter().any(|a| a.nullable);
        if op == "-" && args.len() == 1 {
            if let Some(a) = args.pop() {
                // Integer negation overflows on i64::MIN.
                let nullable = args_nullable || ty == Some(DataType::Int64);
                return Ok(Typed::new(Node::Neg(num, a.boxed()), ty, nullable, pos));
            }
        }
        let op = match op {
            "+" => ArithOp::Add,
            "-" => ArithOp::Sub,
            "*" => ArithOp::Mul,
            "/" => ArithOp::Div,
            _ => ArithOp::Rem,
        };
        // Integers may overflow; any division may be by zero.
        let may_fail = (matches!(num, Num::Int) && args.len() > 1)
            || matches!(op, ArithOp::Div | ArithOp::Rem);
        Ok(Typed::new(
            Node::Arith(op, num, nodes(args)),
            ty,
            args_nullable || may_fail,
            pos,
        ))
    }

    fn math(&mut self, pos: usize, op: &str, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, op, args, 1, Some(1))?;
        let a = self.check(&args[0])?;
        self.expect_numeric(op, &a)?;
        let f = match op {
            "abs" => MathFn::Abs,
            "round" => MathFn::Round,
            "floor" => MathFn::Floor,
            _ => MathFn::Ceil,
        };
        // Only the integer `abs` can overflow (of i64::MIN).
        let overflow = matches!(f, MathFn::Abs) && a.ty == Some(DataType::Int64);
        let (ty, nullable) = (a.ty, a.nullable || overflow);
        Ok(Typed::new(Node::Math(f, a.boxed()), ty, nullable, pos))
    }

    fn concat(&mut self, pos: usize, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, "concat", args, 1, None)?;
        let args = self.all(args)?;
        let nullable = args.iter().any(|a| a.nullable);
        Ok(Typed::new(
            Node::Concat(nodes(args)),
            Some(DataType::Utf8),
            nullable,
            pos,
        ))
    }

    fn string_fn(&mut self, pos: usize, op: &str, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, op, args, 1, Some(1))?;
        let a = self.check(&args[0])?;
        self.expect(op, &a, DataType::Utf8)?;
        let nullable = a.nullable;
        let (node, ty) = match op {
            "lower" => (Node::Lower(a.boxed()), DataType::Utf8),
            "upper" => (Node::Upper(a.boxed()), DataType::Utf8),
            _ => (Node::Length(a.boxed()), DataType::Int64),
        };
        Ok(Typed::new(node, Some(ty), nullable, pos))
    }

    fn string_test(&mut self, pos: usize, op: &str, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, op, args, 2, Some(2))?;
        let a = self.check(&args[0])?;
        let b = self.check(&args[1])?;
        self.expect(op, &a, DataType::Utf8)?;
        self.expect(op, &b, DataType::Utf8)?;
        let test = match op {
            "contains" => StrTest::Contains,
            "starts-with" => StrTest::StartsWith,
            _ => StrTest::EndsWith,
        };
        let nullable = a.nullable || b.nullable;
        Ok(Typed::new(
            Node::Contains(test, a.boxed(), b.boxed()),
            Some(DataType::Bool),
            nullable,
            pos,
        ))
    }

    fn substr(&mut self, pos: usize, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, "substr", args, 3, Some(3))?;
        let s = self.check(&args[0])?;
        let start = self.check(&args[1])?;
        let len = self.check(&args[2])?;
        self.expect("substr", &s, DataType::Utf8)?;
        self.expect("substr", &start, DataType::Int64)?;
        self.expect("substr", &len, DataType::Int64)?;
        // Always nullable: negative positions give null.
        Ok(Typed::new(
            Node::Substr(s.boxed(), start.boxed(), len.boxed()),
            Some(DataType::Utf8),
            true,
            pos,
        ))
    }

    fn is_null(&mut self, pos: usize, op: &str, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, op, args, 1, Some(1))?;
        let a = self.check(&args[0])?;
        Ok(Typed::new(
            Node::IsNull(a.boxed(), op == "is-not-null"),
            Some(DataType::Bool),
            false,
            pos,
        ))
    }

    fn coalesce(&mut self, pos: usize, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, "coalesce", args, 1, None)?;
        let args = self.all(args)?;
        let refs: Vec<&Typed> = args.iter().collect();
        let ty = self.unify("`coalesce` arguments", &refs)?;
        let nullable = args.iter().all(|a| a.nullable);
        Ok(Typed::new(
            Node::Coalesce(nodes(args), ty == Some(DataType::Float64)),
            ty,
            nullable,
            pos,
        ))
    }

    fn if_then_else(&mut self, pos: usize, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, "if", args, 3, Some(3))?;
        let c = self.check(&args[0])?;
        let t = self.check(&args[1])?;
        let e = self.check(&args[2])?;
        if c.ty.is_some_and(|ty| ty != DataType::Bool) {
            return Err(self.err(
                c.pos,
                format!("`if` condition must be Bool, found {}", type_name(c.ty)),
            ));
        }
        let ty = self.unify("the branches of `if`", &[&t, &e])?;
        let nullable = t.nullable || e.nullable;
        let to_float = ty == Some(DataType::Float64);
        Ok(Typed::new(
            Node::If(c.boxed(), t.boxed(), e.boxed(), to_float),
            ty,
            nullable,
            pos,
        ))
    }

    fn cast(&mut self, pos: usize, op: &str, args: &[Sx]) -> Result<Typed, ExprError> {
        self.arity(pos, op, args, 1, Some(1))?;
        let a = self.check(&args[0])?;
        let to = match op {
            "int" => DataType::Int64,
            "float" => DataType::Float64,
            _ => DataType::Utf8,
        };
        let may_fail = matches!(
            (a.ty, to),
            (Some(DataType::Utf8), DataType::Int64 | DataType::Float64)
                | (Some(DataType::Float64), DataType::Int64)
        );
        let nullable = a.nullable || may_fail;
        Ok(Typed::new(
            Node::Cast(to, a.boxed()),
            Some(to),
            nullable,
            pos,
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation

/// A value during evaluation: strings borrow from the row or the expression when they can.
#[derive(Debug)]
enum V<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
}

impl V<'_> {
    fn into_value(self) -> Value {
        match self {
            V::Null => Value::Null,
            V::Bool(b) => Value::Bool(b),
            V::Int(n) => Value::Int(n),
            V::Float(x) => Value::Float(x),
            V::Str(s) => Value::Str(s.into_owned()),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match *self {
            V::Int(n) => Some(n as f64),
            V::Float(x) => Some(x),
            _ => None,
        }
    }

    /// Writes the value as text (nothing for null).
    fn render(&self, out: &mut String) {
        let _ = match self {
            V::Null => Ok(()),
            V::Bool(b) => write!(out, "{b}"),
            V::Int(n) => write!(out, "{n}"),
            V::Float(x) => write!(out, "{x:?}"),
            V::Str(s) => {
                out.push_str(s);
                Ok(())
            }
        };
    }
}

/// The outcome of comparing two values.
enum Compared {
    Null,
    /// NaN was involved.
    Unordered,
    Ord(Ordering),
}

/// 2^63, one past `i64::MAX`, exactly.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// Compares `i` with `f` exactly (no rounding of large integers).
fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f >= TWO_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    // In range, so exact.
    match i.cmp(&(t as i64)) {
        Ordering::Equal => t.partial_cmp(&f),
        o => Some(o),
    }
}

fn compare(a: &V<'_>, b: &V<'_>) -> Compared {
    let ord = match (a, b) {
        (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
        (V::Float(x), V::Float(y)) => x.partial_cmp(y),
        (V::Int(x), V::Float(y)) => cmp_int_float(*x, *y),
        (V::Float(x), V::Int(y)) => cmp_int_float(*y, *x).map(Ordering::reverse),
        (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        _ => return Compared::Null,
    };
    ord.map_or(Compared::Unordered, Compared::Ord)
}

/// `x` as an integer, truncated toward zero; `None` for NaN and out of range.
fn float_to_int(x: f64) -> Option<i64> {
    let t = x.trunc();
    (-TWO_63..TWO_63).contains(&t).then_some(t as i64)
}

fn promote(v: V<'_>, to_float: bool) -> V<'_> {
    match v {
        V::Int(n) if to_float => V::Float(n as f64),
        v => v,
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_usize(n: i64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

// Like the checker, evaluation recurses once per level of nesting; the work of each
// operator lives in a separate function to keep `eval`'s frame small.
impl Node {
    fn eval<'a>(&'a self, row: &'a [Value]) -> V<'a> {
        match self {
            Node::Lit(v) => literal(v),
            Node::Col(i, ty) => column(row.get(*i), *ty),
            Node::Not(a) => match a.eval(row) {
                V::Bool(b) => V::Bool(!b),
                _ => V::Null,
            },
            Node::And(args) => kleene(args, row, false),
            Node::Or(args) => kleene(args, row, true),
            Node::Cmp(op, a, b) => comparison(*op, a, b, row),
            Node::In(x, values) => membership(x, values, row),
            Node::Neg(num, a) => negate(*num, a.eval(row)),
            Node::Arith(op, num, args) => arith(*op, *num, args, row),
            Node::Math(f, a) => math(*f, a.eval(row)),
            Node::Concat(args) => concat(args, row),
            Node::Lower(a) => lower(a.eval(row)),
            Node::Upper(a) => upper(a.eval(row)),
            Node::Length(a) => length(a.eval(row)),
            Node::Contains(test, a, b) => string_test(*test, a, b, row),
            Node::Substr(s, start, len) => substr(s, start, len, row),
            Node::IsNull(a, negate) => V::Bool(matches!(a.eval(row), V::Null) != *negate),
            Node::Coalesce(args, to_float) => coalesce(args, *to_float, row),
            Node::If(c, t, e, to_float) => if_then_else(c, t, e, *to_float, row),
            Node::Cast(to, a) => cast(*to, a.eval(row)),
        }
    }
}

fn literal(v: &Value) -> V<'_> {
    match v {
        Value::Null => V::Null,
        Value::Bool(b) => V::Bool(*b),
        Value::Int(n) => V::Int(*n),
        Value::Float(x) => V::Float(*x),
        Value::Str(s) => V::Str(Cow::Borrowed(s)),
    }
}

/// A cell of a column of type `ty`; null when missing or not of that type.
fn column(v: Option<&Value>, ty: DataType) -> V<'_> {
    match (v, ty) {
        (Some(Value::Bool(b)), DataType::Bool) => V::Bool(*b),
        (Some(Value::Int(n)), DataType::Int64) => V::Int(*n),
        (Some(Value::Int(n)), DataType::Float64) => V::Float(*n as f64),
        (Some(Value::Float(x)), DataType::Float64) => V::Float(*x),
        (Some(Value::Str(s)), DataType::Utf8) => V::Str(Cow::Borrowed(s)),
        _ => V::Null,
    }
}

fn comparison<'a>(op: CmpOp, a: &'a Node, b: &'a Node, row: &'a [Value]) -> V<'a> {
    match compare(&a.eval(row), &b.eval(row)) {
        Compared::Null => V::Null,
        Compared::Unordered => V::Bool(matches!(op, CmpOp::Ne)),
        Compared::Ord(o) => V::Bool(match op {
            CmpOp::Eq => o.is_eq(),
            CmpOp::Ne => o.is_ne(),
            CmpOp::Lt => o.is_lt(),
            CmpOp::Le => o.is_le(),
            CmpOp::Gt => o.is_gt(),
            CmpOp::Ge => o.is_ge(),
        }),
    }
}

fn membership<'a>(x: &'a Node, values: &'a [Node], row: &'a [Value]) -> V<'a> {
    let x = x.eval(row);
    if matches!(x, V::Null) {
        return V::Null;
    }
    let mut saw_null = false;
    for v in values {
        match compare(&x, &v.eval(row)) {
            Compared::Ord(Ordering::Equal) => return V::Bool(true),
            Compared::Null => saw_null = true,
            _ => {}
        }
    }
    if saw_null {
        V::Null
    } else {
        V::Bool(false)
    }
}

fn negate(num: Num, v: V<'_>) -> V<'_> {
    match (num, v) {
        (Num::Int, V::Int(n)) => n.checked_neg().map_or(V::Null, V::Int),
        (Num::Float, v) => v.as_f64().map_or(V::Null, |x| V::Float(-x)),
        _ => V::Null,
    }
}

fn math(f: MathFn, v: V<'_>) -> V<'_> {
    match (v, f) {
        (V::Int(n), MathFn::Abs) => n.checked_abs().map_or(V::Null, V::Int),
        (V::Int(n), _) => V::Int(n),
        (V::Float(x), MathFn::Abs) => V::Float(x.abs()),
        (V::Float(x), MathFn::Round) => V::Float(x.round()),
        (V::Float(x), MathFn::Floor) => V::Float(x.floor()),
        (V::Float(x), MathFn::Ceil) => V::Float(x.ceil()),
        _ => V::Null,
    }
}

fn concat<'a>(args: &'a [Node], row: &'a [Value]) -> V<'a> {
    let mut out = String::new();
    for a in args {
        let v = a.eval(row);
        if matches!(v, V::Null) {
            return V::Null;
        }
        v.render(&mut out);
    }
    V::Str(Cow::Owned(out))
}

fn lower(v: V<'_>) -> V<'_> {
    match v {
        V::Str(s) => V::Str(Cow::Owned(s.to_lowercase())),
        _ => V::Null,
    }
}

fn upper(v: V<'_>) -> V<'_> {
    match v {
        V::Str(s) => V::Str(Cow::Owned(s.to_uppercase())),
        _ => V::Null,
    }
}

fn length(v: V<'_>) -> V<'_> {
    match v {
        V::Str(s) => V::Int(to_i64(s.chars().count())),
        _ => V::Null,
    }
}

fn string_test<'a>(test: StrTest, a: &'a Node, b: &'a Node, row: &'a [Value]) -> V<'a> {
    match (a.eval(row), b.eval(row)) {
        (V::Str(a), V::Str(b)) => V::Bool(match test {
            StrTest::Contains => a.contains(&*b),
            StrTest::StartsWith => a.starts_with(&*b),
            StrTest::EndsWith => a.ends_with(&*b),
        }),
        _ => V::Null,
    }
}

fn coalesce<'a>(args: &'a [Node], to_float: bool, row: &'a [Value]) -> V<'a> {
    for a in args {
        let v = a.eval(row);
        if !matches!(v, V::Null) {
            return promote(v, to_float);
        }
    }
    V::Null
}

fn if_then_else<'a>(
    c: &'a Node,
    t: &'a Node,
    e: &'a Node,
    to_float: bool,
    row: &'a [Value],
) -> V<'a> {
    let v = match c.eval(row) {
        V::Bool(true) => t.eval(row),
        _ => e.eval(row),
    };
    promote(v, to_float)
}

/// Three-valued `and` (`or` when `is_or`): the deciding value wins over null.
fn kleene<'a>(args: &'a [Node], row: &'a [Value], is_or: bool) -> V<'a> {
    let mut saw_null = false;
    for a in args {
        match a.eval(row) {
            V::Bool(b) if b == is_or => return V::Bool(is_or),
            V::Bool(_) => {}
            _ => saw_null = true,
        }
    }
    if saw_null {
        V::Null
    } else {
        V::Bool(!is_or)
    }
}

fn arith<'a>(op: ArithOp, num: Num, args: &'a [Node], row: &'a [Value]) -> V<'a> {
    let mut values = args.iter().map(|a| a.eval(row));
    match num {
        Num::Int => {
            let Some(V::Int(mut acc)) = values.next() else {
                return V::Null;
            };
            for v in values {
                let V::Int(n) = v else {
                    return V::Null;
                };
                let next = match op {
                    ArithOp::Add => acc.checked_add(n),
                    ArithOp::Sub => acc.checked_sub(n),
                    ArithOp::Mul => acc.checked_mul(n),
                    ArithOp::Div => acc.checked_div(n),
                    ArithOp::Rem => acc.checked_rem(n),
                };
                match next {
                    Some(r) => acc = r,
                    None => return V::Null,
                }
            }
            V::Int(acc)
        }
        Num::Float => {
            let Some(mut acc) = values.next().and_then(|v| v.as_f64()) else {
                return V::Null;
            };
            for v in values {
                let Some(x) = v.as_f64() else {
                    return V::Null;
                };
                acc = match op {
                    ArithOp::Add => acc + x,
                    ArithOp::Sub => acc - x,
                    ArithOp::Mul => acc * x,
                    ArithOp::Div | ArithOp::Rem if x == 0.0 => return V::Null,
                    ArithOp::Div => acc / x,
                    ArithOp::Rem => acc % x,
                };
            }
            V::Float(acc)
        }
    }
}

fn substr<'a>(s: &'a Node, start: &'a Node, len: &'a Node, row: &'a [Value]) -> V<'a> {
    match (s.eval(row), start.eval(row), len.eval(row)) {
        (V::Str(s), V::Int(start), V::Int(len)) if start >= 0 && len >= 0 => {
            char_range(s, to_usize(start), to_usize(len))
        }
        _ => V::Null,
    }
}

/// `len` characters of `s` from character `start`, cut short at the end.
fn char_range(s: Cow<'_, str>, start: usize, len: usize) -> V<'_> {
    let byte_at = |n: usize| s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
    let begin = byte_at(start);
    let end = begin
        + s.get(begin..)
            .and_then(|rest| rest.char_indices().nth(len))
            .map_or(s.len() - begin, |(i, _)| i);
    match s {
        Cow::Borrowed(b) => b
            .get(begin..end)
            .map_or(V::Null, |r| V::Str(Cow::Borrowed(r))),
        Cow::Owned(o) => o
            .get(begin..end)
            .map_or(V::Null, |r| V::Str(Cow::Owned(r.to_owned()))),
    }
}

fn cast(to: DataType, v: V<'_>) -> V<'_> {
    match (to, v) {
        (_, V::Null) => V::Null,
        (DataType::Int64, V::Int(n)) => V::Int(n),
        (DataType::Int64, V::Float(x)) => float_to_int(x).map_or(V::Null, V::Int),
        (DataType::Int64, V::Bool(b)) => V::Int(i64::from(b)),
        (DataType::Int64, V::Str(s)) => s.trim().parse().map_or(V::Null, V::Int),
        (DataType::Float64, V::Bool(b)) => V::Float(f64::from(u8::from(b))),
        (DataType::Float64, V::Str(s)) => s.trim().parse().map_or(V::Null, V::Float),
        (DataType::Float64, v) => v.as_f64().map_or(V::Null, V::Float),
        (DataType::Utf8, V::Str(s)) => V::Str(s),
        (DataType::Utf8, v) => {
            let mut out = String::new();
            v.render(&mut out);
            V::Str(Cow::Owned(out))
        }
        (DataType::Bool, V::Bool(b)) => V::Bool(b),
        (DataType::Bool, _) => V::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use morpheus_rdd::{Field, Row};
    use proptest::prelude::*;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("rank", DataType::Float64, false),
            Field::new("country", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
            Field::new("ok", DataType::Bool, true),
            Field::new("name", DataType::Utf8, false),
            Field::new("page rank", DataType::Float64, true),
        ])
    }

    fn row(rank: f64, country: Option<&str>, n: Option<i64>, ok: Option<bool>) -> Row {
        vec![
            Value::Float(rank),
            country.map_or(Value::Null, Value::from),
            n.map_or(Value::Null, Value::Int),
            ok.map_or(Value::Null, Value::Bool),
            Value::from("Zoë"),
            Value::Float(2.5),
        ]
    }

    fn base() -> Row {
        row(0.5, Some("NZ"), Some(7), Some(true))
    }

    /// Compiles against [`schema`] and evaluates on `row`.
    fn eval_on(src: &str, row: &Row) -> Value {
        match Expr::compile(src, &schema()) {
            Ok(e) => e.eval(row),
            Err(e) => panic!("{src}: {e}"),
        }
    }

    fn ev(src: &str) -> Value {
        eval_on(src, &base())
    }

    fn err(src: &str) -> ExprError {
        match Expr::compile(src, &schema()) {
            Ok(e) => panic!("{src} compiled: {e:?}"),
            Err(e) => e,
        }
    }

    fn s(x: &str) -> Value {
        Value::from(x)
    }

    #[test]
    fn module_example() {
        let schema = Schema::new(vec![
            Field::new("rank", DataType::Float64, false),
            Field::new("country", DataType::Utf8, true),
        ]);
        let filter =
            Expr::compile_predicate(r#"(and (> rank 0.001) (= country "NZ"))"#, &schema).unwrap();
        assert!(filter.matches(&[Value::Float(0.5), Value::from("NZ")]));
        assert!(!filter.matches(&[Value::Float(0.5), Value::Null]));
        let label = Expr::compile(r#"(concat country ":" (round (* rank 100)))"#, &schema).unwrap();
        assert_eq!(label.data_type(), Some(DataType::Utf8));
        assert_eq!(
            label.eval(&[Value::Float(0.123), Value::from("NZ")]),
            Value::from("NZ:12.0")
        );
    }

    #[test]
    fn filter_on_rows() {
        let f = Expr::compile(r#"(and (> rank 0.001) (= country "NZ"))"#, &schema()).unwrap();
        assert_eq!(f.data_type(), Some(DataType::Bool));
        assert!(f.nullable());
        assert_eq!(f.columns(), vec!["rank".to_owned(), "country".to_owned()]);
        assert_eq!(f.source(), r#"(and (> rank 0.001) (= country "NZ"))"#);
        let rows = [
            (row(0.5, Some("NZ"), None, None), Value::Bool(true)),
            (row(0.0005, Some("NZ"), None, None), Value::Bool(false)),
            (row(0.5, Some("AU"), None, None), Value::Bool(false)),
            (row(0.5, None, None, None), Value::Null),
            (row(0.0, None, None, None), Value::Bool(false)),
        ];
        for (r, want) in rows {
            assert_eq!(f.eval(&r), want, "{r:?}");
            assert_eq!(f.matches(&r), want == Value::Bool(true));
        }
    }

    #[test]
    fn kleene_logic() {
        let cases = [
            ("(or null true)", Value::Bool(true)),
            ("(or true null)", Value::Bool(true)),
            ("(or null false)", Value::Null),
            ("(or false false)", Value::Bool(false)),
            ("(and null false)", Value::Bool(false)),
            ("(and false null)", Value::Bool(false)),
            ("(and null true)", Value::Null),
            ("(and true true true)", Value::Bool(true)),
            ("(and true)", Value::Bool(true)),
            ("(not null)", Value::Null),
            ("(not false)", Value::Bool(true)),
            ("(not ok)", Value::Bool(false)),
        ];
        for (src, want) in cases {
            assert_eq!(ev(src), want, "{src}");
        }
        // A null column.
        assert_eq!(
            eval_on("(or ok (> n 3))", &row(0.0, None, Some(1), None)),
            Value::Null
        );
        assert_eq!(
            eval_on("(or ok (> n 3))", &row(0.0, None, Some(5), None)),
            Value::Bool(true)
        );
    }

    #[test]
    fn comparisons_and_promotion() {
        let cases = [
            ("(= 1 1.0)", Value::Bool(true)),
            ("(< 1 1.5)", Value::Bool(true)),
            ("(>= 2.0 2)", Value::Bool(true)),
            ("(!= n 7)", Value::Bool(false)),
            ("(<= n 6.99)", Value::Bool(false)),
            ("(> rank 0.001)", Value::Bool(true)),
            (r#"(< "apple" "banana")"#, Value::Bool(true)),
            (r#"(< "Zoë" name)"#, Value::Bool(false)),
            ("(< false true)", Value::Bool(true)),
            ("(= null null)", Value::Null),
            ("(= n null)", Value::Null),
            // Exact, although 2^53 + 1 is not a float.
            (
                "(= 9007199254740993 9007199254740992.0)",
                Value::Bool(false),
            ),
            (
                "(> 9223372036854775807 9223372036854775807.0)",
                Value::Bool(false),
            ),
            (
                "(< 9223372036854775807 9223372036854775807.0)",
                Value::Bool(true),
            ),
            ("(< -1 -0.5)", Value::Bool(true)),
            ("(> 0 -0.5)", Value::Bool(true)),
            // NaN equals nothing.
            ("(= (/ 0.0 (float \"NaN\")) 1)", Value::Bool(false)),
            ("(= (float \"NaN\") (float \"NaN\"))", Value::Bool(false)),
            ("(!= (float \"NaN\") (float \"NaN\"))", Value::Bool(true)),
            ("(< (float \"NaN\") 1)", Value::Bool(false)),
        ];
        for (src, want) in cases {
            assert_eq!(ev(src), want, "{src}");
        }
        // An Int in a Float64 column reads as a float.
        let mut r = base();
        r[0] = Value::Int(3);
        assert_eq!(eval_on("rank", &r), Value::Float(3.0));
        assert_eq!(eval_on("(+ rank 1)", &r), Value::Float(4.0));
    }

    #[test]
    fn arithmetic() {
        let cases = [
            ("(+ 1 2 3)", Value::Int(6)),
            ("(+ 1 2.5)", Value::Float(3.5)),
            ("(- 10 3)", Value::Int(7)),
            ("(- 3)", Value::Int(-3)),
            ("(- 2.5)", Value::Float(-2.5)),
            ("(* 2 3 4)", Value::Int(24)),
            ("(* n 0.5)", Value::Float(3.5)),
            ("(/ 7 2)", Value::Int(3)),
            ("(/ -7 2)", Value::Int(-3)),
            ("(/ 7 2.0)", Value::Float(3.5)),
            ("(% 7 3)", Value::Int(1)),
            ("(% -7 3)", Value::Int(-1)),
            ("(% 7.5 2)", Value::Float(1.5)),
            ("(+ n 1)", Value::Int(8)),
            ("(+ n null)", Value::Null),
            ("(+ null null)", Value::Null),
            // Overflow and division by zero.
            ("(+ 9223372036854775807 1)", Value::Null),
            ("(* 4611686018427387904 2)", Value::Null),
            ("(- -9223372036854775808)", Value::Null),
            ("(- -9223372036854775808 1)", Value::Null),
            ("(/ -9223372036854775808 -1)", Value::Null),
            ("(/ 1 0)", Value::Null),
            ("(% 1 0)", Value::Null),
            ("(/ 1.0 0)", Value::Null),
            ("(% 1 0.0)", Value::Null),
            // Promotion happens before integer overflow could.
            (
                "(+ 9223372036854775807 1 0.0)",
                Value::Float(9223372036854775808.0),
            ),
            ("(abs -3)", Value::Int(3)),
            ("(abs -2.5)", Value::Float(2.5)),
            ("(abs -9223372036854775808)", Value::Null),
            ("(round 2.5)", Value::Float(3.0)),
            ("(round -2.5)", Value::Float(-3.0)),
            ("(round 7)", Value::Int(7)),
            ("(floor -1.5)", Value::Float(-2.0)),
            ("(ceil 1.2)", Value::Float(2.0)),
            ("(ceil n)", Value::Int(7)),
        ];
        for (src, want) in cases {
            assert_eq!(ev(src), want, "{src}");
        }
        let e = Expr::compile("(+ rank 1)", &schema()).unwrap();
        assert_eq!(e.data_type(), Some(DataType::Float64));
        assert!(!e.nullable());
        let e = Expr::compile("(+ 1 2)", &schema()).unwrap();
        assert_eq!(e.data_type(), Some(DataType::Int64));
        assert!(e.nullable(), "integer addition may overflow");
        let e = Expr::compile("(/ rank 2)", &schema()).unwrap();
        assert!(e.nullable(), "division may be by zero");
    }

    #[test]
    fn strings() {
        let cases = [
            (
                r#"(concat name "-" n "-" rank "-" ok)"#,
                s("Zoë-7-0.5-true"),
            ),
            (r#"(concat "a" null)"#, Value::Null),
            (r#"(concat country)"#, s("NZ")),
            ("(lower name)", s("zoë")),
            ("(upper name)", s("ZOË")),
            (r#"(upper "straße")"#, s("STRASSE")),
            ("(length name)", Value::Int(3)),
            (r#"(length "")"#, Value::Int(0)),
            (r#"(contains name "ë")"#, Value::Bool(true)),
            (r#"(contains name "e")"#, Value::Bool(false)),
            (r#"(starts-with name "Zo")"#, Value::Bool(true)),
            (r#"(ends-with name "oë")"#, Value::Bool(true)),
            (r#"(ends-with country null)"#, Value::Null),
            ("(substr name 1 2)", s("oë")),
            ("(substr name 2 10)", s("ë")),
            ("(substr name 5 1)", s("")),
            ("(substr name 0 0)", s("")),
            ("(substr name -1 2)", Value::Null),
            ("(substr name 0 -2)", Value::Null),
            (r#"(substr (concat "日本" "語") 1 1)"#, s("本")),
            (r#""tab\there \"q\" \\ \n""#, s("tab\there \"q\" \\ \n")),
        ];
        for (src, want) in cases {
            assert_eq!(ev(src), want, "{src}");
        }
        let e = Expr::compile("(length name)", &schema()).unwrap();
        assert_eq!(e.data_type(), Some(DataType::Int64));
        assert!(!e.nullable());
    }

    #[test]
    fn nulls_coalesce_if_in() {
        let nulls = row(0.25, None, None, None);
        let cases = [
            ("(is-null country)", Value::Bool(true)),
            ("(is-not-null country)", Value::Bool(false)),
            ("(coalesce n 0)", Value::Int(0)),
            ("(coalesce n rank)", Value::Float(0.25)),
            (r#"(coalesce country "?")"#, s("?")),
            ("(coalesce null null)", Value::Null),
            ("(if ok 1 2)", Value::Int(2)),
            ("(if (is-null ok) 1 2.5)", Value::Float(1.0)),
            ("(if (> rank 0.1) \"hi\" null)", s("hi")),
            ("(in n 1 2 3)", Value::Null),
            ("(in 2 1 2 3)", Value::Bool(true)),
            ("(in 4 1 2 3)", Value::Bool(false)),
            ("(in 4 1 null 3)", Value::Null),
            ("(in 3 1 null 3)", Value::Bool(true)),
            ("(in 2 1.5 2.0)", Value::Bool(true)),
            (r#"(in name "Ann" "Zoë")"#, Value::Bool(true)),
        ];
        for (src, want) in cases {
            assert_eq!(eval_on(src, &nulls), want, "{src}");
        }
        assert_eq!(ev("(coalesce n 0)"), Value::Int(7));
        assert_eq!(ev("(coalesce n rank)"), Value::Float(7.0));
        assert_eq!(ev("(if ok 1 2)"), Value::Int(1));
        let e = Expr::compile("(is-null n)", &schema()).unwrap();
        assert!(!e.nullable());
        let e = Expr::compile("(coalesce n 0)", &schema()).unwrap();
        assert_eq!(e.data_type(), Some(DataType::Int64));
        assert!(!e.nullable());
        let e = Expr::compile("(coalesce n rank)", &schema()).unwrap();
        assert_eq!(e.data_type(), Some(DataType::Float64));
        let e = Expr::compile("null", &schema()).unwrap();
        assert_eq!(e.data_type(), None);
        assert!(e.nullable());
        assert!(!e.matches(&base()));
    }

    #[test]
    fn casts() {
        let cases = [
            (r#"(int "42")"#, Value::Int(42)),
            (r#"(int " -7 ")"#, Value::Int(-7)),
            (r#"(int "4.2")"#, Value::Null),
            (r#"(int "x")"#, Value::Null),
            ("(int 2.9)", Value::Int(2)),
            ("(int -2.9)", Value::Int(-2)),
            ("(int 1e19)", Value::Null),
            ("(int -9223372036854775808.0)", Value::Int(i64::MIN)),
            (r#"(int (float "NaN"))"#, Value::Null),
            ("(int true)", Value::Int(1)),
            ("(int n)", Value::Int(7)),
            (r#"(float "2.5")"#, Value::Float(2.5)),
            (r#"(float "1e-3")"#, Value::Float(0.001)),
            (r#"(float "two")"#, Value::Null),
            ("(float 3)", Value::Float(3.0)),
            ("(float false)", Value::Float(0.0)),
            ("(str 3)", s("3")),
            ("(str 1.0)", s("1.0")),
            ("(str true)", s("true")),
            ("(str name)", s("Zoë")),
            ("(str null)", Value::Null),
            ("(int null)", Value::Null),
        ];
        for (src, want) in cases {
            assert_eq!(ev(src), want, "{src}");
        }
        let e = Expr::compile("(int null)", &schema()).unwrap();
        assert_eq!(e.data_type(), Some(DataType::Int64));
        let e = Expr::compile("(str rank)", &schema()).unwrap();
        assert!(!e.nullable());
        let e = Expr::compile("(int name)", &schema()).unwrap();
        assert!(e.nullable(), "parsing may fail");
    }

    #[test]
    fn atoms_columns_and_comments() {
        assert_eq!(ev("42"), Value::Int(42));
        assert_eq!(ev("-7"), Value::Int(-7));
        assert_eq!(ev("1e-3"), Value::Float(0.001));
        assert_eq!(ev("-2.5"), Value::Float(-2.5));
        assert_eq!(ev("-9223372036854775808"), Value::Int(i64::MIN));
        assert_eq!(ev("true"), Value::Bool(true));
        assert_eq!(ev(r#"(col "page rank")"#), Value::Float(2.5));
        assert_eq!(
            ev("  ; leading comment\n (+ n ; seven\n 1)  "),
            Value::Int(8)
        );
        let e = Expr::compile(r#"(+ n n (col "n") (col "page rank"))"#, &schema()).unwrap();
        assert_eq!(e.columns(), vec!["n".to_owned(), "page rank".to_owned()]);
        // Rows that do not fit read as nulls rather than panicking.
        let e = Expr::compile("(+ n 1)", &schema()).unwrap();
        assert_eq!(e.eval(&[]), Value::Null);
        let mut bad = base();
        bad[2] = Value::from("seven");
        assert_eq!(e.eval(&bad), Value::Null);
        // Dotted and non-ASCII names.
        let sch = Schema::new(vec![
            Field::new("user.age", DataType::Int64, false),
            Field::new("größe", DataType::Float64, false),
        ]);
        let e = Expr::compile("(+ user.age größe)", &sch).unwrap();
        assert_eq!(
            e.eval(&[Value::Int(1), Value::Float(0.5)]),
            Value::Float(1.5)
        );
    }

    #[test]
    fn predicates() {
        assert!(Expr::compile_predicate("(> n 1)", &schema()).is_ok());
        assert!(compile_predicate("null", &schema()).is_ok());
        let e = Expr::compile_predicate("(* rank 2)", &schema()).unwrap_err();
        assert_eq!(
            e.message,
            "filter must be a boolean expression, this one is Float64"
        );
        assert_eq!((e.pos, e.line, e.col), (0, 1, 1));
    }

    /// `(pos, line, col, message)` of the error for `src`.
    fn where_(src: &str) -> (usize, usize, usize, String) {
        let e = err(src);
        assert_eq!(
            e.to_string(),
            format!("line {}, column {}: {}", e.line, e.col, e.message)
        );
        (e.pos, e.line, e.col, e.message)
    }

    #[test]
    fn compile_errors() {
        let all = "available columns: `rank`, `country`, `n`, `ok`, `name`, `page rank`";
        assert_eq!(
            where_("(and\n  (> rnak 1))"),
            (
                10,
                2,
                6,
                format!("unknown column `rnak` (did you mean `rank`?); {all}")
            )
        );
        assert_eq!(
            where_("(= zzz 1)"),
            (3, 1, 4, format!("unknown column `zzz`; {all}"))
        );
        assert_eq!(
            where_("(> name 3)"),
            (0, 1, 1, "cannot compare Utf8 with Int64".to_owned())
        );
        assert_eq!(
            where_("(in n 1 \"x\")"),
            (8, 1, 9, "cannot compare Int64 with Utf8".to_owned())
        );
        assert_eq!(
            where_("(and ok n)"),
            (
                8,
                1,
                9,
                "`and` expects a Bool argument here, found Int64".to_owned()
            )
        );
        assert_eq!(
            where_("(+ 1 name)"),
            (
                5,
                1,
                6,
                "`+` expects numbers (Int64 or Float64), found Utf8".to_owned()
            )
        );
        assert_eq!(
            where_("(coalesce n \"x\")"),
            (
                12,
                1,
                13,
                "`coalesce` arguments must share a type, found Int64 and Utf8".to_owned()
            )
        );
        assert_eq!(
            where_("(if n 1 2)"),
            (
                4,
                1,
                5,
                "`if` condition must be Bool, found Int64".to_owned()
            )
        );
        assert_eq!(
            where_("(not ok ok)"),
            (0, 1, 1, "`not` takes 1 argument, found 2".to_owned())
        );
        assert_eq!(
            where_("(not (substr name 1))"),
            (5, 1, 6, "`substr` takes 3 arguments, found 2".to_owned())
        );
        assert_eq!(
            where_("(- 1 2 3)"),
            (0, 1, 1, "`-` takes 1 or 2 arguments, found 3".to_owned())
        );
        assert_eq!(
            where_("(and)"),
            (
                0,
                1,
                1,
                "`and` takes at least 1 argument, found 0".to_owned()
            )
        );
        assert_eq!(
            where_("(contians name \"a\")"),
            (
                1,
                1,
                2,
                "unknown operator `contians`; did you mean `contains`?".to_owned()
            )
        );
        let (_, _, _, msg) = where_("(frobnicate 1)");
        assert!(
            msg.starts_with("unknown operator `frobnicate`; operators are and or not"),
            "{msg}"
        );
        assert_eq!(
            where_("(1 2)"),
            (
                1,
                1,
                2,
                "expected an operator name after `(`, found a number".to_owned()
            )
        );
        assert_eq!(
            where_("(+ page-rank 1)"),
            (3, 1, 4, "`page-rank` is not a valid column reference (a bare column name starts with a letter or `_` and continues with letters, digits, `_` and `.`); write (col \"page-rank\") for other names".to_owned())
        );
        assert_eq!(
            where_("(col rank)"),
            (
                5,
                1,
                6,
                "`col` takes a string literal naming a column, as in (col \"page rank\")"
                    .to_owned()
            )
        );
    }

    #[test]
    fn parse_errors() {
        let cases: &[(&str, (usize, usize, usize, &str))] = &[
            (
                "(and ok",
                (0, 1, 1, "unbalanced parentheses: this `(` is never closed"),
            ),
            (
                "(and ok (not ok)",
                (0, 1, 1, "unbalanced parentheses: this `(` is never closed"),
            ),
            (
                "(and ok))",
                (8, 1, 9, "unbalanced parentheses: unexpected `)`"),
            ),
            (")", (0, 1, 1, "unbalanced parentheses: unexpected `)`")),
            ("(= name \"Zoë)", (8, 1, 9, "unterminated string")),
            ("(= name\n \"é\\", (9, 2, 2, "unterminated string")),
            (
                "\"a\\qb\"",
                (
                    2,
                    1,
                    3,
                    "unknown escape `\\q` in string (use \\\", \\\\, \\n or \\t)",
                ),
            ),
            (
                "(> n 1) (< n 3)",
                (8, 1, 9, "trailing input after the expression"),
            ),
            ("ok ok", (3, 1, 4, "trailing input after the expression")),
            ("(and ok ())", (8, 1, 9, "empty form `()`")),
            ("", (0, 1, 1, "empty expression")),
            ("  ; only a comment", (18, 1, 19, "empty expression")),
            (
                "(+ 1 99999999999999999999)",
                (
                    5,
                    1,
                    6,
                    "integer literal `99999999999999999999` is out of range for Int64",
                ),
            ),
            (
                "(+ 1 1e999)",
                (5, 1, 6, "float literal `1e999` is out of range"),
            ),
            ("(+ 1 12abc)", (5, 1, 6, "invalid number `12abc`")),
            ("(+ 1 1.)", (5, 1, 6, "invalid number `1.`")),
            ("(+ 1 1e)", (5, 1, 6, "invalid number `1e`")),
        ];
        for (src, (pos, line, col, msg)) in cases {
            assert_eq!(
                where_(src),
                (*pos, *line, *col, (*msg).to_owned()),
                "{src:?}"
            );
        }
    }

    #[test]
    fn deep_nesting() {
        // 10_000 open parentheses: an error, not a stack overflow.
        let src = "(".repeat(10_000);
        let (pos, _, _, msg) = where_(&src);
        assert_eq!(pos, MAX_DEPTH);
        assert_eq!(msg, "expression nested deeper than 256 levels");
        let src = format!("{}ok{}", "(not ".repeat(10_000), ")".repeat(10_000));
        assert_eq!(where_(&src).3, "expression nested deeper than 256 levels");
        // 256 levels are fine, for every kind of form (and evaluation recurses as deep).
        for (open, close) in [
            ("(not ", ")"),
            ("(if true ", " 0)"),
            ("(coalesce null (+ 1 ", "))"),
            ("(substr (concat ", " \"x\") 0 5)"),
        ] {
            let levels = if open.matches('(').count() == 2 {
                MAX_DEPTH / 2
            } else {
                MAX_DEPTH
            };
            let leaf = if open == "(not " { "ok" } else { "n" };
            let src = format!("{}{leaf}{}", open.repeat(levels), close.repeat(levels));
            let e = Expr::compile(&src, &schema()).unwrap();
            let _ = e.eval(&base());
            let src = format!(
                "{}{leaf}{}",
                open.repeat(levels + 1),
                close.repeat(levels + 1)
            );
            assert!(Expr::compile(&src, &schema()).is_err());
        }
    }

    #[test]
    fn traits() {
        fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync + 'static>() {}
        assert_traits::<Expr>();
        assert_traits::<ExprError>();
        let e = Expr::compile("(> n 1)", &schema()).unwrap();
        assert_eq!(e.to_string(), "(> n 1)");
        assert!(format!("{e:?}").contains("(> n 1)"));
    }

    // ---- property tests ----

    fn prop_schema() -> Schema {
        Schema::new(vec![
            Field::new("i", DataType::Int64, true),
            Field::new("j", DataType::Int64, false),
            Field::new("x", DataType::Float64, true),
            Field::new("y", DataType::Float64, false),
            Field::new("s", DataType::Utf8, true),
            Field::new("t", DataType::Utf8, false),
            Field::new("b", DataType::Bool, true),
            Field::new("c", DataType::Bool, false),
        ])
    }

    fn int_value() -> impl Strategy<Value = Value> {
        prop_oneof![any::<i64>(), Just(i64::MAX), Just(i64::MIN), -3i64..=3].prop_map(Value::Int)
    }

    fn float_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<f64>().prop_map(Value::Float),
            Just(Value::Float(f64::NAN)),
            Just(Value::Float(f64::INFINITY)),
            Just(Value::Float(0.0)),
            (-3.0f64..3.0).prop_map(Value::Float),
            // Integers may sit in float columns.
            int_value(),
        ]
    }

    fn str_value() -> impl Strategy<Value = Value> {
        prop_oneof![".{0,6}", "[0-9 .e-]{0,5}", Just(String::new())].prop_map(Value::Str)
    }

    fn nullable(v: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
        prop_oneof![1 => Just(Value::Null), 3 => v]
    }

    fn prop_row() -> impl Strategy<Value = Row> {
        (
            nullable(int_value()),
            int_value(),
            nullable(float_value()),
            float_value(),
            nullable(str_value()),
            str_value(),
            nullable(any::<bool>().prop_map(Value::Bool)),
            any::<bool>().prop_map(Value::Bool),
        )
            .prop_map(|(i, j, x, y, s, t, b, c)| vec![i, j, x, y, s, t, b, c])
    }

    const ATOMS: &[&str] = &[
        "i",
        "j",
        "x",
        "y",
        "s",
        "t",
        "b",
        "c",
        "nope",
        "0",
        "1",
        "-1",
        "2.5",
        "-0.0",
        "1e308",
        "9223372036854775807",
        "-9223372036854775808",
        "\"\"",
        "\"ab\"",
        "\"é日\"",
        "\"12\"",
        "true",
        "false",
        "null",
        "(col \"t\")",
    ];

    const BAD_OPS: &[&str] = &["nope", "-x"];
    const PARENS: &[&str] = &["(", ")"];
    const JUNK: &[&str] = &["\"open", "\\", ";", "\n", "()", "1.", "--1"];

    fn ops() -> impl Strategy<Value = &'static str> {
        prop::sample::select(OPERATORS).prop_union(prop::sample::select(BAD_OPS))
    }

    /// Random token soup.
    fn tokens() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            3 => prop::sample::select(PARENS),
            2 => ops(),
            2 => prop::sample::select(ATOMS),
            1 => prop::sample::select(JUNK),
        ];
        prop::collection::vec(token, 0..40).prop_map(|t| t.join(" "))
    }

    /// Well-formed forms with random operators and arguments.
    fn forms() -> impl Strategy<Value = String> {
        let leaf = prop::sample::select(ATOMS).prop_map(str::to_owned);
        leaf.prop_recursive(4, 48, 4, |inner| {
            (ops(), prop::collection::vec(inner, 0..4))
                .prop_map(|(op, args)| format!("({op} {})", args.join(" ")))
        })
    }

    /// Argument kinds of the typed generator: a type, or any of them.
    #[derive(Clone, Copy)]
    enum A {
        B,
        I,
        F,
        S,
        Any,
    }

    const TEMPLATES_B: &[(&str, &[A])] = &[
        ("and", &[A::B, A::B]),
        ("or", &[A::B, A::B, A::B]),
        ("not", &[A::B]),
        ("=", &[A::I, A::F]),
        ("!=", &[A::B, A::B]),
        ("<", &[A::S, A::S]),
        (">=", &[A::F, A::I]),
        ("<=", &[A::I, A::I]),
        ("in", &[A::I, A::F, A::I]),
        ("in", &[A::S, A::S]),
        ("is-null", &[A::Any]),
        ("is-not-null", &[A::Any]),
        ("contains", &[A::S, A::S]),
        ("starts-with", &[A::S, A::S]),
        ("ends-with", &[A::S, A::S]),
        ("if", &[A::B, A::B, A::B]),
        ("coalesce", &[A::B, A::B]),
    ];
    const TEMPLATES_I: &[(&str, &[A])] = &[
        ("+", &[A::I, A::I, A::I]),
        ("-", &[A::I]),
        ("-", &[A::I, A::I]),
        ("*", &[A::I, A::I]),
        ("/", &[A::I, A::I]),
        ("%", &[A::I, A::I]),
        ("abs", &[A::I]),
        ("round", &[A::I]),
        ("length", &[A::S]),
        ("int", &[A::F]),
        ("int", &[A::S]),
        ("int", &[A::B]),
        ("coalesce", &[A::I, A::I]),
        ("if", &[A::B, A::I, A::I]),
    ];
    const TEMPLATES_F: &[(&str, &[A])] = &[
        ("+", &[A::F, A::I]),
        ("-", &[A::F]),
        ("-", &[A::I, A::F]),
        ("*", &[A::F, A::F, A::I]),
        ("/", &[A::F, A::F]),
        ("%", &[A::I, A::F]),
        ("abs", &[A::F]),
        ("round", &[A::F]),
        ("floor", &[A::F]),
        ("ceil", &[A::F]),
        ("float", &[A::S]),
        ("float", &[A::I]),
        ("float", &[A::B]),
        ("coalesce", &[A::I, A::F]),
        ("if", &[A::B, A::F, A::I]),
    ];
    const TEMPLATES_S: &[(&str, &[A])] = &[
        ("concat", &[A::Any, A::Any]),
        ("lower", &[A::S]),
        ("upper", &[A::S]),
        ("substr", &[A::S, A::I, A::I]),
        ("str", &[A::Any]),
        ("coalesce", &[A::S, A::S]),
        ("if", &[A::B, A::S, A::S]),
    ];
    const LEAVES_B: &[&str] = &["b", "c", "true", "false", "null"];
    const LEAVES_I: &[&str] = &[
        "i",
        "j",
        "0",
        "1",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "null",
    ];
    const LEAVES_F: &[&str] = &["x", "y", "0.0", "-0.0", "2.5", "1e308", "null"];
    const LEAVES_S: &[&str] = &[
        "s",
        "t",
        "\"\"",
        "\"ab\"",
        "\"é日\"",
        "\"12\"",
        "\" 3.5 \"",
        "(col \"t\")",
        "null",
    ];

    /// A well-typed expression of kind `kind`, shaped by `seed`.
    fn typed_expr(kind: A, depth: usize, seed: &mut std::slice::Iter<'_, u32>) -> String {
        let pick = seed.next().copied().unwrap_or(0) as usize;
        let (leaves, templates) = match kind {
            A::B => (LEAVES_B, TEMPLATES_B),
            A::I => (LEAVES_I, TEMPLATES_I),
            A::F => (LEAVES_F, TEMPLATES_F),
            A::S => (LEAVES_S, TEMPLATES_S),
            A::Any => {
                let kind = [A::B, A::I, A::F, A::S][pick % 4];
                return typed_expr(kind, depth, seed);
            }
        };
        if depth == 0 || pick.is_multiple_of(4) {
            return leaves[pick / 4 % leaves.len()].to_owned();
        }
        let (op, args) = templates[pick / 4 % templates.len()];
        let args: Vec<String> = args
            .iter()
            .map(|&a| typed_expr(a, depth - 1, seed))
            .collect();
        format!("({op} {})", args.join(" "))
    }

    fn typed_forms() -> impl Strategy<Value = String> {
        prop::collection::vec(any::<u32>(), 1..48).prop_map(|seed| {
            let mut seed = seed.iter();
            let kind = [A::B, A::I, A::F, A::S][*seed.next().unwrap_or(&0) as usize % 4];
            typed_expr(kind, 5, &mut seed)
        })
    }

    fn check_sound(src: &str, rows: &[Row]) -> Result<(), TestCaseError> {
        let Ok(e) = Expr::compile(src, &prop_schema()) else {
            return Ok(());
        };
        for r in rows {
            let v = e.eval(r);
            if v.is_null() {
                prop_assert!(e.nullable(), "{src} gave null on {r:?}");
            } else {
                prop_assert_eq!(v.data_type(), e.data_type(), "{} on {:?}", src, r);
            }
            prop_assert_eq!(e.matches(r), v == Value::Bool(true));
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text_never_panics(src in any::<String>(), rows in prop::collection::vec(prop_row(), 1..4)) {
            check_sound(&src, &rows)?;
        }

        #[test]
        fn token_soup_never_panics(src in tokens(), rows in prop::collection::vec(prop_row(), 1..4)) {
            check_sound(&src, &rows)?;
        }

        #[test]
        fn typed_forms_compile_and_are_sound(src in typed_forms(), rows in prop::collection::vec(prop_row(), 1..4)) {
            if let Err(e) = Expr::compile(&src, &prop_schema()) {
                return Err(TestCaseError::fail(format!("{src}: {e}")));
            }
            check_sound(&src, &rows)?;
        }

        #[test]
        fn random_forms_are_sound(src in forms(), rows in prop::collection::vec(prop_row(), 1..4)) {
            check_sound(&src, &rows)?;
        }
    }
}
