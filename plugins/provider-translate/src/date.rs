//! An HTTP `date` header (IMF-fixdate) as Unix seconds: an OpenAI response carries `created`,
//! and a host without the clock key leaves this as the guest's only time. 0 when the header is
//! missing or not in that form.

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// "Thu, 03 Dec 2026 18:34:06 GMT"
pub fn unix_seconds(date: &str) -> u64 {
    parse(date).unwrap_or(0)
}

fn parse(date: &str) -> Option<u64> {
    let mut parts = date.split(' ').filter(|p| !p.is_empty()).skip(1);
    let (d, mon, y, t) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let m = MONTHS.iter().position(|x| *x == mon)?;
    let mut hms = t.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, se) = (hms.next()??, hms.next()??, hms.next()??);
    let (d, y) = (d.parse::<i64>().ok()?, y.parse::<i64>().ok()?);
    if h < 0 || mi < 0 || se < 0 {
        return None;
    }
    let secs = days_from_civil(y, m as i64 + 1, d) * 86400 + h * 3600 + mi * 60 + se;
    if secs < 0 { None } else { Some(secs as u64) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_imf_fixdate() {
        assert_eq!(super::unix_seconds("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
        assert_eq!(super::unix_seconds("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
        assert_eq!(super::unix_seconds("nonsense"), 0);
    }
}
