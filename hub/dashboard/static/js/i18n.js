// Every string the dashboard shows, in English and Urdu. Urdu pages are right-to-left:
// `setLanguage` sets <html lang dir>, and the CSS uses logical properties
// (margin-inline-start, text-align: start) so the layout mirrors by itself.

const STRINGS = {
  en: {
    app_name: "Roshni",
    other_language: "اردو",
    login_title: "Sign in",
    username: "User name",
    password: "Password",
    sign_in: "Sign in",
    login_failed: "Wrong user name or password.",
    login_limited: "Too many attempts. Wait a minute, then try again.",
    logout: "Log out",
    loading: "Loading…",
    error: "Something went wrong: {detail}",
    offline: "No connection. Showing what was loaded; trying again.",
    retry: "Try again",
    not_found: "Not found, or not in your area.",
    live_on: "Live",
    live_polling: "Updates every {n} s",
    live_off: "Offline",
    updated: "Updated",

    nav_area: "Map & alerts",
    nav_spots: "Unsafe spots",
    nav_repairs: "Repairs",
    nav_tickets: "Tickets",
    nav_fleet: "Fleet",

    map: "Map",
    map_rough: "District outlines are approximate.",
    legend_on: "Lamp burning",
    legend_dark: "Lamp out (fault)",
    legend_off: "Lamp off",
    legend_offline: "Node offline",
    legend_pending: "Not yet assigned",
    legend_unknown: "No data yet",
    alerts: "Alerts",
    no_alerts: "No open alerts.",
    acknowledge: "Acknowledge",
    acknowledged_by: "Acknowledged by {who}",
    state_active: "New",
    state_acknowledged: "Acknowledged",
    state_cleared: "Over",
    started: "Since {time}",
    ended: "Ended {time}",
    repair_none: "No repair ticket",
    ticket_n: "Ticket #{id}",
    whole_area: "Whole area",
    pole: "Pole {pole}",
    show_on_map: "Show on map",
    historical: "Past incident (from replayed data)",

    rule_lamp_out: "Lamp out",
    rule_area_power_cut: "Area power cut",
    rule_day_burner: "Burning by day",
    rule_flicker: "Flickering lamp",
    rule_low_power: "Failing lamp (low power)",
    rule_node_offline: "Node offline",
    rule_tamper: "Tampering",
    rule_supply_loss: "Supply lost",

    status_open: "Open",
    status_assigned: "Assigned",
    status_in_progress: "In progress",
    status_fixed: "Fixed",
    status_verified: "Verified by sensor",
    status_reopened: "Reopened",
    to_assigned: "Assign to me",
    to_in_progress: "Start work",
    to_fixed: "Mark fixed",

    spots_title: "Unsafe spots, night of {night}",
    spots_none: "No scores for last night yet.",
    dark_minutes: "Dark minutes",
    exposure: "People in the dark",
    score: "Score",

    repairs_title: "Did the DMC repair what was reported?",
    repairs_none: "Nothing reported yet.",
    repaired_verified: "Repaired: the sensor sees the lamp burning",
    repaired_claimed: "Crew says fixed; waiting for the sensor",
    repaired_working: "Crew is working on it",
    repaired_waiting: "Not repaired yet",
    repaired_reopened: "Still dark after it was marked fixed: reopened",
    reported: "Reported {time}",

    queue_title: "Repair queue",
    filter_outstanding: "To do",
    filter_fixed: "Done",
    filter_all: "All",
    no_tickets: "No tickets.",
    priority: "Priority {p}",
    due: "Due {rel}",
    overdue: "Overdue",
    opened: "Opened {time}",
    location: "Location",
    open_in_maps: "Open in maps app",
    open_web_map: "Google Maps",
    evidence: "Evidence: the lamp's last readings",
    no_evidence: "No readings.",
    move_status: "Update",
    note: "Note: what you found, what you did",
    done_fixed: "Marked fixed. The sensor verifies the repair at night, or reopens the ticket.",
    done_verified: "Verified by the sensor. Nothing left to do.",
    history: "History",
    saved: "Saved.",
    back: "Back",
    actor_sensor: "sensor",
    actor_system: "system",
    lamp_power: "Lamp power (W)",
    lamp_state: "Lamp",
    on: "on",
    off: "off",

    fleet_title: "Fleet health",
    count_online: "Online",
    count_offline: "Offline",
    count_pending: "Pending",
    count_unknown: "No data",
    count_clock: "Clock faults",
    hub_spool: "Hub spool: {n} readings waiting for InfluxDB",
    spool: "Queued on node",
    last_seen: "Last seen",
    never: "never",
    filter_problems: "Needs attention",
    node: "Node",
    nodes_none: "No nodes.",

    node_title: "Node {id}",
    range_24h: "24 hours",
    range_7d: "7 days",
    chart_lamp: "Lamp burning (share of time)",
    chart_lux: "Light on the street (lux)",
    chart_footfall: "People passing",
    burning_hours: "Burning hours",
    switch_ons: "Switched on",
    energy: "Energy",
    firmware: "Firmware",
    status: "Status",
    district: "District",
    area: "Area",
    no_readings: "No readings in this period.",

    district_central: "Central",
    district_east: "East",
    district_keamari: "Keamari",
    district_korangi: "Korangi",
    district_malir: "Malir",
    district_south: "South",
    district_west: "West",
    district_unassigned: "Unassigned",
  },
  ur: {
    app_name: "روشنی",
    other_language: "English",
    login_title: "لاگ اِن",
    username: "صارف کا نام",
    password: "پاس ورڈ",
    sign_in: "لاگ اِن کریں",
    login_failed: "صارف کا نام یا پاس ورڈ غلط ہے۔",
    login_limited: "بہت زیادہ کوششیں۔ ایک منٹ انتظار کریں، پھر دوبارہ کوشش کریں۔",
    logout: "لاگ آؤٹ",
    loading: "لوڈ ہو رہا ہے…",
    error: "کچھ غلط ہو گیا: {detail}",
    offline: "کنکشن نہیں ہے۔ جو لوڈ ہو چکا وہ دکھایا جا رہا ہے؛ دوبارہ کوشش جاری ہے۔",
    retry: "دوبارہ کوشش کریں",
    not_found: "نہیں ملا، یا آپ کے علاقے میں نہیں۔",
    live_on: "براہِ راست",
    live_polling: "ہر {n} سیکنڈ بعد تازہ",
    live_off: "آف لائن",
    updated: "تازہ کیا گیا",

    nav_area: "نقشہ اور الرٹ",
    nav_spots: "غیر محفوظ مقامات",
    nav_repairs: "مرمت",
    nav_tickets: "ٹکٹ",
    nav_fleet: "نوڈز",

    map: "نقشہ",
    map_rough: "اضلاع کی حدود تقریبی ہیں۔",
    legend_on: "بتی جل رہی ہے",
    legend_dark: "خراب بتی (اندھیرا)",
    legend_off: "بتی بجھی ہوئی",
    legend_offline: "نوڈ آف لائن",
    legend_pending: "ابھی تفویض نہیں ہوا",
    legend_unknown: "ابھی کوئی ڈیٹا نہیں",
    alerts: "الرٹ",
    no_alerts: "کوئی کھلا الرٹ نہیں۔",
    acknowledge: "تسلیم کریں",
    acknowledged_by: "{who} نے تسلیم کیا",
    state_active: "نیا",
    state_acknowledged: "تسلیم شدہ",
    state_cleared: "ختم",
    started: "{time} سے",
    ended: "{time} کو ختم ہوا",
    repair_none: "مرمت کا کوئی ٹکٹ نہیں",
    ticket_n: "ٹکٹ نمبر {id}",
    whole_area: "پورا علاقہ",
    pole: "کھمبا {pole}",
    show_on_map: "نقشے پر دکھائیں",
    historical: "گزرا ہوا واقعہ (بعد میں موصول ڈیٹا سے)",

    rule_lamp_out: "بتی بند",
    rule_area_power_cut: "علاقے کی بجلی بند",
    rule_day_burner: "دن میں جلتی بتی",
    rule_flicker: "ٹمٹماتی بتی",
    rule_low_power: "کمزور بتی (کم پاور)",
    rule_node_offline: "نوڈ آف لائن",
    rule_tamper: "چھیڑ چھاڑ",
    rule_supply_loss: "بجلی کی فراہمی منقطع",

    status_open: "کھلا",
    status_assigned: "سونپا گیا",
    status_in_progress: "کام جاری ہے",
    status_fixed: "ٹھیک کر دیا",
    status_verified: "سینسر سے تصدیق شدہ",
    status_reopened: "دوبارہ کھولا گیا",
    to_assigned: "مجھے سونپیں",
    to_in_progress: "کام شروع کریں",
    to_fixed: "ٹھیک ہو گیا",

    spots_title: "غیر محفوظ مقامات، {night} کی رات",
    spots_none: "پچھلی رات کے اسکور ابھی نہیں آئے۔",
    dark_minutes: "اندھیرے کے منٹ",
    exposure: "اندھیرے میں لوگ",
    score: "اسکور",

    repairs_title: "کیا DMC نے رپورٹ کی گئی خرابی ٹھیک کی؟",
    repairs_none: "ابھی کچھ رپورٹ نہیں ہوا۔",
    repaired_verified: "مرمت ہو گئی: سینسر بتی جلتی دیکھ رہا ہے",
    repaired_claimed: "عملے کے مطابق ٹھیک ہو گئی؛ سینسر کی تصدیق کا انتظار",
    repaired_working: "عملہ کام کر رہا ہے",
    repaired_waiting: "ابھی مرمت نہیں ہوئی",
    repaired_reopened: "ٹھیک قرار دینے کے بعد بھی اندھیرا: دوبارہ کھولا گیا",
    reported: "{time} کو رپورٹ ہوا",

    queue_title: "مرمت کی فہرست",
    filter_outstanding: "باقی کام",
    filter_fixed: "مکمل",
    filter_all: "سب",
    no_tickets: "کوئی ٹکٹ نہیں۔",
    priority: "ترجیح {p}",
    due: "مقررہ وقت {rel}",
    overdue: "تاخیر",
    opened: "{time} کو کھولا گیا",
    location: "مقام",
    open_in_maps: "نقشہ ایپ میں کھولیں",
    open_web_map: "گوگل میپس",
    evidence: "ثبوت: بتی کی آخری ریڈنگز",
    no_evidence: "کوئی ریڈنگ نہیں۔",
    move_status: "حالت بدلیں",
    note: "نوٹ: آپ نے کیا پایا، کیا کیا",
    done_fixed: "ٹھیک قرار دیا گیا۔ رات کو سینسر مرمت کی تصدیق کرے گا، یا ٹکٹ دوبارہ کھولے گا۔",
    done_verified: "سینسر سے تصدیق ہو گئی۔ مزید کچھ نہیں کرنا۔",
    history: "تاریخچہ",
    saved: "محفوظ ہو گیا۔",
    back: "واپس",
    actor_sensor: "سینسر",
    actor_system: "سسٹم",
    lamp_power: "بتی کی پاور (واٹ)",
    lamp_state: "بتی",
    on: "جلی",
    off: "بند",

    fleet_title: "نوڈز کی حالت",
    count_online: "آن لائن",
    count_offline: "آف لائن",
    count_pending: "زیرِ التوا",
    count_unknown: "کوئی ڈیٹا نہیں",
    count_clock: "گھڑی کی خرابیاں",
    hub_spool: "ہب اسپول: {n} ریڈنگز InfluxDB کی منتظر",
    spool: "نوڈ پر قطار میں",
    last_seen: "آخری رابطہ",
    never: "کبھی نہیں",
    filter_problems: "توجہ طلب",
    node: "نوڈ",
    nodes_none: "کوئی نوڈ نہیں۔",

    node_title: "نوڈ {id}",
    range_24h: "24 گھنٹے",
    range_7d: "7 دن",
    chart_lamp: "بتی جلنے کا تناسب",
    chart_lux: "سڑک پر روشنی (لکس)",
    chart_footfall: "گزرنے والے لوگ",
    burning_hours: "جلنے کے گھنٹے",
    switch_ons: "جلنے کی تعداد",
    energy: "توانائی",
    firmware: "فرم ویئر",
    status: "حالت",
    district: "ضلع",
    area: "علاقہ",
    no_readings: "اس مدت میں کوئی ریڈنگ نہیں۔",

    district_central: "وسطی",
    district_east: "شرقی",
    district_keamari: "کیماڑی",
    district_korangi: "کورنگی",
    district_malir: "ملیر",
    district_south: "جنوبی",
    district_west: "غربی",
    district_unassigned: "غیر تفویض شدہ",
  },
};

export const LANGUAGES = Object.keys(STRINGS);
let lang = "en";
let timeZone = "Asia/Karachi";

export function language() { return lang; }

export function setLanguage(value, tz) {
  lang = STRINGS[value] ? value : "en";
  if (tz) timeZone = tz;
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === "ur" ? "rtl" : "ltr";
  document.title = t("app_name");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

/** t("priority", {p: 2}); an unknown key shows as itself, so a gap is visible, not blank. */
export function t(key, vars = {}) {
  const template = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/**
 * t() for sentences that hold people's text: each value becomes its own <bdi>, so an
 * English area name inside Urdu (or the reverse) keeps its own direction.
 */
export function tx(key, vars = {}) {
  const template = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return template.split(/(\{\w+\})/).filter(Boolean).map((part) => {
    const name = part.match(/^\{(\w+)\}$/)?.[1];
    if (!name || !(name in vars)) return part;
    const el = document.createElement("bdi");
    el.textContent = String(vars[name]);
    return el;
  });
}

/** A label for a value from the API (rule, status, district) with a fallback to the value. */
export function label(prefix, value) {
  if (value === null || value === undefined) return "";
  const key = `${prefix}_${value}`;
  return STRINGS[lang][key] ?? STRINGS.en[key] ?? String(value);
}

const locale = () => (lang === "ur" ? "ur-PK" : "en-PK");

export function time(epoch) {
  if (epoch === null || epoch === undefined) return "";
  return new Intl.DateTimeFormat(locale(), {
    timeZone, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  }).format(new Date(epoch * 1000));
}

export function clock(epoch, withDay = false) {
  return new Intl.DateTimeFormat(locale(), {
    timeZone, hour: "2-digit", minute: "2-digit", ...(withDay ? { weekday: "short" } : {}),
  }).format(new Date(epoch * 1000));
}

/** "in 5 hours", "2 days ago" in the page's language. */
export function relative(epoch, now = Date.now() / 1000) {
  const diff = epoch - now;
  const abs = Math.abs(diff);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  if (abs < 3600) return rtf.format(Math.round(diff / 60), "minute");
  if (abs < 48 * 3600) return rtf.format(Math.round(diff / 3600), "hour");
  return rtf.format(Math.round(diff / 86400), "day");
}

export function number(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
}
