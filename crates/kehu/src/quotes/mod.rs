//! Quotes (报价) and orders (订单): priced line items with a discount and tax,
//! totals computed on the server; a quote goes draft → sent → accepted |
//! rejected | expired, and accepting it makes the order. Orders are the
//! customer's purchase history. `export.rs`: a quote as an Excel workbook.
//! Depends on: platform, products (lines), customers and opportunities (what a
//! quote or an order is for), contracts (numbering).

pub mod api;
pub mod export;
pub mod model;
pub mod pages;
pub mod store;
