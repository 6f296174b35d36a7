//! Validation errors: each names the file, line, column and what is wrong.

use std::fmt;

/// One problem found in a plan directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name as handed to [`crate::parse`].
    pub file: String,
    /// 1-based line; 0 when the problem concerns no particular line
    /// (e.g. a table missing from every file).
    pub line: usize,
    /// 1-based column in characters; 0 with line 0.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// A plan that does not parse or does not validate. Holds every problem
/// found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Maps byte offsets of one file to line and column.
pub(crate) struct Locator<'a> {
    pub name: &'a str,
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Locator<'a> {
    pub fn new(name: &'a str, text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Locator {
            name,
            text,
            line_starts,
        }
    }

    /// Line and column (both 1-based, column in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }

    pub fn at(&self, offset: usize, message: impl Into<String>) -> Diagnostic {
        let (line, column) = self.position(offset);
        Diagnostic {
            file: self.name.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    pub fn whole(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.name.to_owned(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let l = Locator::new("f.toml", "a = 1\n名字 = \"x\"\n");
        assert_eq!(l.position(0), (1, 1));
        assert_eq!(l.position(6), (2, 1));
        // "名字 " is 7 bytes, 3 characters.
        assert_eq!(l.position(6 + 7), (2, 4));
    }
}
