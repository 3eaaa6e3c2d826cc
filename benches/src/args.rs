//! A tiny command-line parser: `--flag`, `--key value` and `--key=value`.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

/// The arguments still to be consumed.
///
/// # Examples
///
/// ```
/// use runtime_benches::args::Args;
///
/// let mut a = Args::from_iter(["--workers", "4", "--quick", "--rounds=7"]);
/// assert_eq!(a.value::<usize>("--workers").unwrap(), Some(4));
/// assert!(a.flag("--quick"));
/// assert_eq!(a.value::<u32>("--rounds").unwrap(), Some(7));
/// assert!(a.finish().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct Args {
    rest: VecDeque<String>,
}

/// A command-line error, meant to be printed with the usage text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError(pub String);

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArgError {}

impl Args {
    /// The process's arguments, without the program name.
    pub fn from_env() -> Args {
        Args::from_iter(std::env::args().skip(1))
    }

    /// Arguments from any list (for tests).
    #[allow(clippy::should_implement_trait)]
    pub fn from_iter<I, S>(args: I) -> Args
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Args {
            rest: args.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether `name` is present (every occurrence is consumed).
    pub fn flag(&mut self, name: &str) -> bool {
        let before = self.rest.len();
        self.rest.retain(|a| a != name);
        self.rest.len() != before
    }

    /// The value of the last `name VALUE` or `name=VALUE`, parsed; `None`
    /// if absent.
    ///
    /// # Errors
    ///
    /// If the value is missing or does not parse.
    pub fn value<T: FromStr>(&mut self, name: &str) -> Result<Option<T>, ArgError>
    where
        T::Err: fmt::Display,
    {
        let mut found = None;
        let mut i = 0;
        while i < self.rest.len() {
            let arg = &self.rest[i];
            let raw = if arg == name {
                self.rest.remove(i);
                match self.rest.remove(i) {
                    Some(v) => v,
                    None => return Err(ArgError(format!("{name} needs a value"))),
                }
            } else if let Some(v) = arg.strip_prefix(name).and_then(|s| s.strip_prefix('=')) {
                let v = v.to_owned();
                self.rest.remove(i);
                v
            } else {
                i += 1;
                continue;
            };
            let parsed = raw
                .parse()
                .map_err(|e| ArgError(format!("{name} {raw:?}: {e}")))?;
            found = Some(parsed);
        }
        Ok(found)
    }

    /// Succeeds if every argument was consumed.
    ///
    /// # Errors
    ///
    /// Names the first argument nobody asked for.
    pub fn finish(self) -> Result<(), ArgError> {
        match self.rest.front() {
            None => Ok(()),
            Some(a) => Err(ArgError(format!("unexpected argument {a:?}"))),
        }
    }
}
