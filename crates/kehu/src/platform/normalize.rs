//! Normal forms for duplicate checks and search: company names, phone numbers.

use unicode_normalization::UnicodeNormalization;

/// Legal-form suffixes that do not make two companies different.
const SUFFIXES: &[&str] = &[
    "有限责任公司",
    "股份有限公司",
    "有限公司",
    "分公司",
    "集团",
    "公司",
    "companylimited",
    "corporation",
    "company",
    "limited",
    "coltd",
    "gmbh",
    "corp",
    "inc",
    "llc",
    "ltd",
    "co",
];

/// A company or person name reduced to what identifies it: full-width folded to
/// half-width (NFKC), case, spaces and punctuation dropped, legal suffixes removed.
/// "深圳市腾飞科技有限公司" and "深圳市腾飞科技" agree; so do "ACME Co., Ltd." and "acme".
pub fn name(s: &str) -> String {
    let mut n: String = s
        .nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect();
    while let Some(suffix) = SUFFIXES
        .iter()
        .find(|x| n.ends_with(*x) && n.len() > x.len())
    {
        n.truncate(n.len() - suffix.len());
    }
    n
}

/// Whether `c` is a CJK ideograph (the characters Chinese names are written in).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Every overlapping pair of characters in the CJK runs of `text`, space
/// separated ("深圳市腾飞" → "深圳 圳市 市腾 腾飞"): what a word index needs to find
/// two-character Chinese terms, which trigram indexes cannot.
pub fn cjk_bigrams(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut Vec<String>| {
        for w in run.windows(2) {
            let pair: String = w.iter().collect();
            if !out.contains(&pair) {
                out.push(pair);
            }
        }
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out.join(" ")
}

/// The digits of a phone number, without a leading +86 / 0086 country code.
pub fn phone_digits(s: &str) -> String {
    let d: String = s.nfkc().filter(char::is_ascii_digit).collect();
    if let Some(rest) = d.strip_prefix("0086") {
        return rest.to_owned();
    }
    if d.len() == 13 && d.starts_with("86") {
        return d[2..].to_owned();
    }
    d
}

/// Whether a phone number uses only the characters phone numbers have.
pub fn phone_chars_ok(s: &str) -> bool {
    s.nfkc().all(|c| {
        c.is_ascii_digit()
            || matches!(
                c,
                ' ' | '+' | '-' | '(' | ')' | '.' | '/' | '#' | '*' | 'x' | 'X'
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ignore_width_case_spaces_and_suffixes() {
        assert_eq!(name("深圳市腾飞科技有限公司"), name("深圳市腾飞科技"));
        assert_eq!(name("深圳市 腾飞科技（集团）有限公司"), "深圳市腾飞科技");
        assert_eq!(name("ＡＣＭＥ Co., Ltd."), "acme");
        assert_eq!(name("Acme Inc"), "acme");
        assert_eq!(name("Acme Corporation"), name("ACME"));
        assert_ne!(name("腾飞科技"), name("腾云科技"));
        assert_eq!(name("公司"), "公司", "a name is never reduced to nothing");
    }

    #[test]
    fn bigrams_cover_chinese_runs_only() {
        assert_eq!(
            cjk_bigrams("深圳市腾飞 acme 华创"),
            "深圳 圳市 市腾 腾飞 华创"
        );
        assert_eq!(cjk_bigrams("a 张 b"), "");
    }

    #[test]
    fn phones_keep_digits_without_the_country_code() {
        assert_eq!(phone_digits("+86 138-1234-5678"), "13812345678");
        assert_eq!(phone_digits("0086 13812345678"), "13812345678");
        assert_eq!(phone_digits("(021) 6888 1234"), "02168881234");
        assert_eq!(phone_digits("１３８１２３４５６７８"), "13812345678");
        assert!(phone_chars_ok("+86 (21) 6888-1234 x12"));
        assert!(!phone_chars_ok("call me"));
    }
}
