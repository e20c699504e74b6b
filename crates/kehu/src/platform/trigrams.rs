//! Choosing how a term is looked up in an FTS5 trigram index.
//!
//! FTS5 finds a phrase by reading the whole list of rows of every trigram in
//! it, so a term with one very common trigram is slow however rare the term
//! is: `example-4242` reads the lists of `exa`, `xam`, … that every address at
//! `example-….com` is on. A `TrigramSample` (trigram counts over a random
//! sample of rows, kept as a statistic in `platform::cache`) estimates each
//! trigram's share of rows; `rarest_part` then picks the part of the term
//! whose lists are cheapest to read, and the list checks the whole term on
//! the rows that part finds (`instr`).

use crate::platform::error::AppResult;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use std::collections::{HashMap, HashSet};

/// Rows read for a sample.
const SAMPLE_ROWS: u32 = 2_000;
/// A trigram on this share of rows makes a term worth looking up by a part.
const COMMON: f64 = 0.3;
/// The trigrams of that part are each on at most this share of rows.
const RARE: f64 = 0.05;

/// How many rows of a sample carry each trigram.
#[derive(Debug, Default)]
pub struct TrigramSample {
    rows: u32,
    counts: HashMap<String, u32>,
}

fn trigrams(chars: &[char]) -> impl Iterator<Item = String> + '_ {
    chars.windows(3).map(|w| w.iter().collect())
}

impl TrigramSample {
    pub fn from_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut sample = TrigramSample::default();
        for text in texts {
            sample.rows += 1;
            let chars: Vec<char> = text.chars().collect();
            let seen: HashSet<String> = trigrams(&chars).collect();
            for t in seen {
                *sample.counts.entry(t).or_default() += 1;
            }
        }
        sample
    }

    /// The estimated share of rows carrying the trigram `t`.
    fn share(&self, t: &str) -> f64 {
        (f64::from(self.counts.get(t).copied().unwrap_or(0)) + 0.5) / (f64::from(self.rows) + 1.0)
    }

    /// The part of `term` (already lower-case) to look up instead of the
    /// whole: when one of its trigrams is on at least `COMMON` of the rows,
    /// its longest run of trigrams each on at most `RARE` of them (the
    /// cheaper of equally long runs); `None` when there is no such run or the
    /// term has no common trigram.
    pub fn rarest_part(&self, term: &str) -> Option<String> {
        let chars: Vec<char> = term.chars().collect();
        let shares: Vec<f64> = trigrams(&chars).map(|t| self.share(&t)).collect();
        if !shares.iter().any(|s| *s >= COMMON) {
            return None;
        }
        let mut best: Option<(usize, f64, usize)> = None;
        let mut start = 0;
        while start < shares.len() {
            if shares[start] > RARE {
                start += 1;
                continue;
            }
            let mut end = start;
            while end + 1 < shares.len() && shares[end + 1] <= RARE {
                end += 1;
            }
            let len = end - start + 1;
            let sum: f64 = shares[start..=end].iter().sum();
            if best.is_none_or(|(l, s, _)| len > l || (len == l && sum < s)) {
                best = Some((len, sum, start));
            }
            start = end + 1;
        }
        let (len, _, start) = best?;
        Some(chars[start..start + len + 2].iter().collect())
    }
}

/// Samples up to `SAMPLE_ROWS` random rows of `table.column` (SQLite, by rowid).
pub async fn sample<C: ConnectionTrait>(
    db: &C,
    table: &str,
    column: &str,
) -> AppResult<TrigramSample> {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {SAMPLE_ROWS}) \
                 SELECT {column} AS t FROM {table} WHERE rowid IN \
                 (SELECT abs(random()) % (SELECT max(rowid) FROM {table}) + 1 FROM n)"
            ),
        ))
        .await?;
    let texts = rows
        .iter()
        .map(|r| r.try_get::<String>("", "t"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrigramSample::from_texts(texts.iter().map(String::as_str)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> TrigramSample {
        // Every row has an address at example-….com; few have 4242.
        let texts: Vec<String> = (0..1000)
            .map(|i| {
                format!(
                    "客户{i} info{i}@example-{:04}.com 物流 logistics",
                    i * 7 % 10_000
                )
            })
            .collect();
        TrigramSample::from_texts(texts.iter().map(String::as_str))
    }

    #[test]
    fn a_term_with_common_trigrams_is_looked_up_by_its_rare_part() {
        let s = demo();
        assert_eq!(s.rarest_part("example-4242").as_deref(), Some("-4242"));
    }

    #[test]
    fn rare_or_short_terms_are_looked_up_whole() {
        let s = demo();
        assert_eq!(s.rarest_part("腾飞科技"), None);
        assert_eq!(s.rarest_part("abc"), None);
        // Every trigram as common as the others: nothing to gain.
        assert_eq!(s.rarest_part("logistics"), None);
    }
}
