//! A quote as an Excel workbook (rust_xlsxwriter): the header, the lines and
//! the totals, amounts as numbers with the currency's decimals.

use super::model::QuoteView;
use crate::platform::error::{AppError, AppResult};
use rust_xlsxwriter::{Format, Workbook};

/// The labels of the sheet, in the reader's language.
pub struct Labels<'a> {
    pub title: &'a str,
    pub number: &'a str,
    pub customer: &'a str,
    pub valid_until: &'a str,
    pub columns: [&'a str; 5],
    pub subtotal: &'a str,
    pub discount: &'a str,
    pub tax: &'a str,
    pub total: &'a str,
}

fn num(s: &str) -> f64 {
    // Shown to people in a spreadsheet cell; the exact amount is the text in the API.
    s.parse::<f64>().unwrap_or(0.0)
}

pub fn xlsx(q: &QuoteView, customer: &str, l: &Labels) -> AppResult<Vec<u8>> {
    let fail = |e: rust_xlsxwriter::XlsxError| AppError::Unexpected(anyhow::anyhow!(e));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = Format::new().set_bold();
    let decimals = crate::platform::money::minor_digits(&q.currency).unwrap_or(2);
    let pattern = if decimals == 0 {
        "#,##0".to_owned()
    } else {
        format!("#,##0.{}", "0".repeat(decimals as usize))
    };
    let amount = Format::new().set_num_format(&pattern);
    let total = Format::new().set_num_format(&pattern).set_bold();
    sheet.set_column_width(0, 36).map_err(fail)?;
    for c in 1..5 {
        sheet.set_column_width(c, 16).map_err(fail)?;
    }
    sheet
        .write_string_with_format(0, 0, &q.title, &bold)
        .map_err(fail)?;
    let head = [
        (l.number, q.number.as_str()),
        (l.customer, customer),
        (l.valid_until, q.valid_until.as_deref().unwrap_or("—")),
        (l.title, q.currency.as_str()),
    ];
    for (i, (k, v)) in head.iter().enumerate() {
        let r = 1 + i as u32;
        sheet.write_string(r, 0, *k).map_err(fail)?;
        sheet.write_string(r, 1, *v).map_err(fail)?;
    }
    let top = 6;
    for (c, name) in l.columns.iter().enumerate() {
        sheet
            .write_string_with_format(top, c as u16, *name, &bold)
            .map_err(fail)?;
    }
    let mut r = top + 1;
    for it in &q.priced.items {
        sheet.write_string(r, 0, &it.name).map_err(fail)?;
        sheet.write_number(r, 1, num(&it.quantity)).map_err(fail)?;
        sheet
            .write_number_with_format(r, 2, num(&it.unit_price), &amount)
            .map_err(fail)?;
        sheet
            .write_string(r, 3, format!("{}%", it.discount_percent))
            .map_err(fail)?;
        sheet
            .write_number_with_format(r, 4, num(&it.total), &amount)
            .map_err(fail)?;
        r += 1;
    }
    r += 1;
    let p = &q.priced;
    let sums = [
        (l.subtotal.to_owned(), &p.subtotal, &amount),
        (
            format!("{} ({}%)", l.discount, p.discount_percent),
            &p.discount,
            &amount,
        ),
        (format!("{} ({}%)", l.tax, p.tax_rate), &p.tax, &amount),
        (l.total.to_owned(), &p.total, &total),
    ];
    for (i, (k, v, f)) in sums.into_iter().enumerate() {
        // The discount is taken off: shown negative so the column adds up.
        let sign = if i == 1 { -1.0 } else { 1.0 };
        sheet
            .write_string_with_format(r, 3, &k, &bold)
            .map_err(fail)?;
        sheet
            .write_number_with_format(r, 4, sign * num(&v.amount), f)
            .map_err(fail)?;
        r += 1;
    }
    book.save_to_buffer().map_err(fail)
}
