//! The UI language: the zh-CN and en catalogues and how a request picks one.
//!
//! Architecture Invariant: templates never contain UI text; every visible
//! string is `ctx.t("key")` with the key present in both catalogues
//! (a unit test checks that every key used in a template exists in both).

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    ZhCn,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::ZhCn => "简体中文",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s.starts_with("zh") {
            Some(Lang::ZhCn)
        } else if s.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// Picks the best supported language from an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|v| v.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }

    /// Whether the catalogue has `key`.
    pub fn has(self, key: &str) -> bool {
        let cat = catalogues();
        match self {
            Lang::En => cat.en.contains_key(key),
            Lang::ZhCn => cat.zh.contains_key(key),
        }
    }

    /// The catalogue text for `key`; the key itself when it is missing.
    pub fn t(self, key: &str) -> &'static str {
        let cat = catalogues();
        let map = match self {
            Lang::En => &cat.en,
            Lang::ZhCn => &cat.zh,
        };
        match map.get(key) {
            Some(v) => v.as_str(),
            None => cat
                .en
                .get(key)
                .map(|v| v.as_str())
                .unwrap_or_else(|| leak_key(key)),
        }
    }
}

fn leak_key(key: &str) -> &'static str {
    static MISSING: OnceLock<std::sync::Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let m = MISSING.get_or_init(Default::default);
    let Ok(mut guard) = m.lock() else { return "?" };
    if let Some(v) = guard.get(key) {
        return v;
    }
    tracing::warn!(key, "missing i18n key");
    let leaked: &'static str = Box::leak(key.to_owned().into_boxed_str());
    guard.insert(key.to_owned(), leaked);
    leaked
}

struct Catalogues {
    en: HashMap<String, String>,
    zh: HashMap<String, String>,
}

fn catalogues() -> &'static Catalogues {
    static CAT: OnceLock<Catalogues> = OnceLock::new();
    CAT.get_or_init(|| Catalogues {
        en: flatten(include_str!("../../locales/en.toml")),
        zh: flatten(include_str!("../../locales/zh-CN.toml")),
    })
}

fn flatten(src: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    match toml::from_str::<toml::Table>(src) {
        Ok(table) => walk("", &table, &mut out),
        Err(e) => tracing::error!(error = %e, "i18n catalogue does not parse"),
    }
    out
}

fn walk(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(t) => walk(&key, t, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_supported_best() {
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Lang::ZhCn
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR,en;q=0.5,zh;q=0.4"),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language("en-US,zh-CN;q=0.95"), Lang::En);
        assert_eq!(Lang::from_accept_language("de"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }

    #[test]
    fn catalogues_have_the_same_keys() {
        let c = catalogues();
        assert!(c.en.len() > 50, "catalogue too small: {}", c.en.len());
        let mut missing_zh: Vec<_> = c.en.keys().filter(|k| !c.zh.contains_key(*k)).collect();
        let mut missing_en: Vec<_> = c.zh.keys().filter(|k| !c.en.contains_key(*k)).collect();
        missing_zh.sort();
        missing_en.sort();
        assert!(missing_zh.is_empty(), "missing in zh-CN: {missing_zh:?}");
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
    }

    #[test]
    fn every_key_used_in_templates_and_code_exists() {
        let c = catalogues();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut missing = Vec::new();
        let mut stack = vec![root.join("templates"), root.join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, _) in text.match_indices("t(\"") {
                    if i > 0 && text.as_bytes()[i - 1].is_ascii_alphanumeric() {
                        continue;
                    }
                    let rest = &text[i + 3..];
                    let Some(end) = rest.find('"') else { continue };
                    let key = &rest[..end];
                    if key.contains('.') && !key.contains(' ') && !c.en.contains_key(key) {
                        missing.push(format!("{}: {key}", path.display()));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys missing from the catalogue: {missing:#?}"
        );
    }

    #[test]
    fn t_returns_translations() {
        assert_eq!(Lang::ZhCn.t("nav.users"), "用户");
        assert_eq!(Lang::En.t("nav.users"), "Users");
        let missing = "no.such.key";
        assert_eq!(Lang::En.t(missing), missing);
    }
}
