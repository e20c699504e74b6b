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
    fn phones_keep_digits_without_the_country_code() {
        assert_eq!(phone_digits("+86 138-1234-5678"), "13812345678");
        assert_eq!(phone_digits("0086 13812345678"), "13812345678");
        assert_eq!(phone_digits("(021) 6888 1234"), "02168881234");
        assert_eq!(phone_digits("１３８１２３４５６７８"), "13812345678");
        assert!(phone_chars_ok("+86 (21) 6888-1234 x12"));
        assert!(!phone_chars_ok("call me"));
    }
}
