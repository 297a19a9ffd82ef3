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
    count_unknown: "Never heard from",
    count_uncommissioned: "Not commissioned",
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

    lamp_model: "Lamp model",
    node_state_revoked: "Revoked",
    revoked_notice: "Revoked: this node's broker password was taken away. It can no longer send readings or take commands; provision it again to bring it back.",

    commissioning: "Commissioning",
    commissioned_at: "Commissioned {time}",
    not_commissioned: "Not commissioned yet",
    not_commissioned_hint: "A node is commissioned when the self-test on the pole ({cmd}) passes and the hub receives it.",
    selftest_last: "Last self-test on the pole: {time}",
    selftest_none: "No self-test received yet.",
    selftest_passed: "Passed",
    selftest_failed: "Failed",
    check_pass: "PASS",
    check_fail: "FAIL",
    check_skip: "SKIP",
    check_summary: "{failed} failed, {passed} passed, {skipped} skipped",
    remedy: "What to do:",
    check_again: "Check again",

    commands: "Commands to the node",
    cmd_identify: "Identify (blink LED)",
    cmd_selftest: "Run self-test",
    cmd_set_interval: "Set reporting interval",
    interval_label: "Reporting interval in seconds (5 to 3600)",
    interval_invalid: "Enter whole seconds from 5 to 3600.",
    cmd_not_online: "The hub has not heard from this node lately ({status}); it may not answer.",
    cmd_sending: "Sending…",
    cmd_waiting: "Sent. Waiting for the node to answer… ({n} s)",
    cmd_gave_up: "No answer from the node after {n} s. It may be offline or out of reach. If it answers later, the answer shows under Recent commands.",
    cmd_look_again: "Look for an answer again",
    cmd_ok: "The node answered: done.",
    cmd_failed: "The node answered: it could not do it.",
    cmd_reason: "Reason: {detail}",
    cmd_did_identify: "The status LED ({led}) blinks for {n} s. Look for it on the pole.",
    cmd_did_interval: "The node now reports every {n} s (before: {was} s).",
    selftest_remote_passed: "Self-test on the node: passed.",
    selftest_remote_failed: "Self-test on the node: failed. See the items marked FAIL.",
    err_403: "You may not send commands to nodes: only technicians and admins can.",
    err_422: "The hub did not accept it: {detail}",
    err_409: "The node is not connected to the hub now, so it would not get the command. Send it when the node is online again.",
    err_503: "The hub could not pass the command on (the message broker did not take it). Try again in a minute.",
    recent_commands: "Recent commands",
    no_commands: "No commands sent yet.",
    cmd_name_identify: "Identify",
    cmd_name_selftest: "Self-test",
    cmd_name_set_interval: "Reporting interval",
    cmd_desc_identify: "Identify: blink {n} s",
    cmd_desc_set_interval: "Reporting interval: {n} s",
    cmd_status_sent: "Waiting for answer",
    cmd_status_not_sent: "Not sent",
    cmd_status_ok: "Done",
    cmd_status_failed: "Failed",
    cmd_by: "by {who}",
    answered_at: "answered {time}",

    district_central: "Central",
    district_east: "East",
    district_keamari: "Keamari",
    district_korangi: "Korangi",
    district_malir: "Malir",
    district_south: "South",
    district_west: "West",
    district_unassigned: "Unassigned",
    // --- dash-committee ---
    legend_power_cut: "Power cut",
    legend_flicker: "Flickering",
    legend_low_power: "Failing (low power)",
    legend_tamper: "Tampered",
    legend_day_burner: "Burning by day",
    area_summary_lamps: "{n} lamps",
    area_summary_part: "{n} {what}",
    sum_dark: "dark",
    sum_power_cut: "in a power cut",
    sum_flicker: "flickering",
    sum_low_power: "failing",
    sum_tamper: "tampered",
    sum_day_burner: "burning by day",
    sum_offline: "offline",
    sum_unknown: "without data",
    areas_summary: "Lamps per area",
    standing_online: "Online",
    standing_offline: "Offline since {time}",
    standing_never: "Never heard from",
    standing_unknown: "No status message; last heard {time}",
    standing_pending: "Pending: heard from, not yet placed on a pole",
    standing_revoked: "Revoked",
    commissioned_but_failed: "Commissioned {time}, but the latest self-test failed",
    note_sensor_found: "{fault}, found by the sensor",
    note_sensor_verified_night: "The lamp has worked at night for {minutes} min",
    note_sensor_verified_day: "The lamp has stayed off by day for {minutes} min",
    note_sensor_reopened: "The fault is still there {minutes} min after the ticket was marked fixed",
    node_text: "From the node:",
    check_title_settings: "Settings",
    check_title_profile: "Hardware profile",
    check_title_agent: "Node agent is stopped",
    check_title_hardware: "Sensors can be opened",
    check_title_spool: "Spool is writable and has room",
    check_title_clock: "Clock is synchronised",
    check_title_lamp_sensor: "Lamp sensor reads",
    check_title_ambient_light: "Street light sensor reads",
    check_title_footfall: "People sensor (PIR) reads",
    check_title_radar: "People radar (LD2410) reports",
    check_title_tamper: "Enclosure lid is closed",
    check_title_energy_meter: "Energy meter reads",
    check_title_cpu_temp: "CPU temperature",
    check_title_lamp_responds: "Lamp sensor responds",
    check_title_broker: "Broker accepts this node over TLS",
    check_title_hub: "Hub acknowledges the self-test",
    check_remedy_spool: "Free space on the SD card, or keep fewer days offline.",
    check_remedy_clock: "Turn on time synchronisation (NTP) on the Pi and let it reach a time server.",
    check_remedy_lamp_sensor: "Check the lamp sensor's wires against the wiring table.",
    check_remedy_ambient_light: "Uncover the street light sensor and check its wires.",
    check_remedy_footfall: "Check the people sensor's wire and its 5 V supply.",
    check_remedy_radar: "Check the radar's serial wires (TX and RX crossed) and the serial port setting.",
    check_remedy_tamper: "Close the lid so it presses the tamper switch; else check the switch's wire.",
    check_remedy_energy_meter: "Check the energy meter's wires (voltage L and N, and its serial link).",
    check_remedy_cpu_temp: "The box is too hot: shade it and keep its vents free.",
    check_remedy_lamp_responds: "Check the lamp sensor faces the lamp and is wired; switch the lamp at the cabinet while the test waits.",
    check_remedy_broker: "Use the bundle's node.toml (encrypted connection with the hub's certificate) and check the password.",
    check_remedy_hub: "Check that the hub is running and the node can reach it.",
    check_remedy_hardware: "Check the sensors' wiring against the wiring table.",
    check_remedy_agent: "Stop the node agent before the self-test.",
    check_remedy_settings: "Fix the node's settings file.",
    check_remedy_profile: "Choose a hardware profile that exists.",
    fleet_search: "Find a node: id, pole or area",
    fleet_all: "All nodes",
    fleet_page: "{from}–{to} of {n}",
    prev_page: "Previous",
    next_page: "Next",
    search: "Search",
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
    count_unknown: "کبھی رابطہ نہیں ہوا",
    count_uncommissioned: "کمیشن نہیں ہوئے",
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

    lamp_model: "بتی کا ماڈل",
    node_state_revoked: "منسوخ",
    revoked_notice: "منسوخ: اس نوڈ کا بروکر کا پاس ورڈ ختم کر دیا گیا ہے۔ یہ اب نہ ریڈنگ بھیج سکتا ہے نہ کمانڈ لے سکتا ہے؛ واپس لانے کے لیے اسے دوبارہ رجسٹر کریں۔",

    commissioning: "تنصیب کی جانچ",
    commissioned_at: "{time} کو چالو ہوا",
    not_commissioned: "ابھی چالو نہیں ہوا",
    not_commissioned_hint: "نوڈ اس وقت چالو ہوتا ہے جب کھمبے پر سیلف ٹیسٹ ({cmd}) پاس ہو اور ہب کو مل جائے۔",
    selftest_last: "کھمبے پر آخری سیلف ٹیسٹ: {time}",
    selftest_none: "ابھی کوئی سیلف ٹیسٹ موصول نہیں ہوا۔",
    selftest_passed: "پاس",
    selftest_failed: "فیل",
    check_pass: "پاس",
    check_fail: "فیل",
    check_skip: "چھوڑ دیا",
    check_summary: "{failed} فیل، {passed} پاس، {skipped} چھوڑے گئے",
    remedy: "کیا کریں:",
    check_again: "دوبارہ دیکھیں",

    commands: "نوڈ کو کمانڈ",
    cmd_identify: "پہچان کریں (LED ٹمٹمائے)",
    cmd_selftest: "سیلف ٹیسٹ چلائیں",
    cmd_set_interval: "رپورٹ کا وقفہ مقرر کریں",
    interval_label: "رپورٹ کا وقفہ، سیکنڈ میں (5 سے 3600 تک)",
    interval_invalid: "5 سے 3600 تک پورے سیکنڈ لکھیں۔",
    cmd_not_online: "ہب نے کچھ دیر سے اس نوڈ سے کچھ نہیں سنا ({status})؛ ہو سکتا ہے یہ جواب نہ دے۔",
    cmd_sending: "بھیجا جا رہا ہے…",
    cmd_waiting: "بھیج دیا۔ نوڈ کے جواب کا انتظار… ({n} سیکنڈ)",
    cmd_gave_up: "{n} سیکنڈ میں نوڈ نے جواب نہیں دیا۔ ہو سکتا ہے یہ آف لائن ہو یا رابطے سے باہر۔ اگر بعد میں جواب آیا تو حالیہ کمانڈز میں نظر آئے گا۔",
    cmd_look_again: "جواب دوبارہ دیکھیں",
    cmd_ok: "نوڈ کا جواب: کام ہو گیا۔",
    cmd_failed: "نوڈ کا جواب: یہ کام نہیں ہو سکا۔",
    cmd_reason: "وجہ: {detail}",
    cmd_did_identify: "اسٹیٹس LED ({led}) {n} سیکنڈ تک ٹمٹمائے گی۔ کھمبے پر دیکھیں۔",
    cmd_did_interval: "نوڈ اب ہر {n} سیکنڈ بعد رپورٹ کرے گا (پہلے: {was} سیکنڈ)۔",
    selftest_remote_passed: "نوڈ پر سیلف ٹیسٹ: پاس۔",
    selftest_remote_failed: "نوڈ پر سیلف ٹیسٹ: فیل۔ جن چیزوں پر فیل لکھا ہے انہیں دیکھیں۔",
    err_403: "آپ نوڈز کو کمانڈ نہیں بھیج سکتے: صرف ٹیکنیشن اور ایڈمن بھیج سکتے ہیں۔",
    err_422: "ہب نے قبول نہیں کیا: {detail}",
    err_409: "نوڈ ابھی ہب سے جڑا ہوا نہیں، اس لیے اسے کمانڈ نہیں ملے گی۔ نوڈ آن لائن ہو تو دوبارہ بھیجیں۔",
    err_503: "ہب کمانڈ آگے نہیں بھیج سکا (میسج بروکر نے نہیں لی)۔ ایک منٹ بعد دوبارہ کوشش کریں۔",
    recent_commands: "حالیہ کمانڈز",
    no_commands: "ابھی کوئی کمانڈ نہیں بھیجی گئی۔",
    cmd_name_identify: "پہچان",
    cmd_name_selftest: "سیلف ٹیسٹ",
    cmd_name_set_interval: "رپورٹ کا وقفہ",
    cmd_desc_identify: "پہچان: {n} سیکنڈ ٹمٹمانا",
    cmd_desc_set_interval: "رپورٹ کا وقفہ: {n} سیکنڈ",
    cmd_status_sent: "جواب کا انتظار",
    cmd_status_not_sent: "نہیں بھیجی گئی",
    cmd_status_ok: "ہو گیا",
    cmd_status_failed: "ناکام",
    cmd_by: "{who} کی طرف سے",
    answered_at: "{time} کو جواب آیا",

    district_central: "وسطی",
    district_east: "شرقی",
    district_keamari: "کیماڑی",
    district_korangi: "کورنگی",
    district_malir: "ملیر",
    district_south: "جنوبی",
    district_west: "غربی",
    district_unassigned: "غیر تفویض شدہ",
    // --- dash-committee ---
    legend_power_cut: "بجلی بند",
    legend_flicker: "ٹمٹماتی بتی",
    legend_low_power: "کمزور بتی (کم پاور)",
    legend_tamper: "چھیڑ چھاڑ",
    legend_day_burner: "دن میں جلتی بتی",
    area_summary_lamps: "{n} بتیاں",
    area_summary_part: "{n} {what}",
    sum_dark: "خراب (اندھیرا)",
    sum_power_cut: "بجلی بند",
    sum_flicker: "ٹمٹماتی",
    sum_low_power: "کمزور",
    sum_tamper: "چھیڑ چھاڑ",
    sum_day_burner: "دن میں جلتی",
    sum_offline: "آف لائن",
    sum_unknown: "بغیر ڈیٹا",
    areas_summary: "ہر علاقے کی بتیاں",
    standing_online: "آن لائن",
    standing_offline: "{time} سے آف لائن",
    standing_never: "کبھی رابطہ نہیں ہوا",
    standing_unknown: "حالت کا پیغام نہیں آیا؛ آخری رابطہ {time}",
    standing_pending: "زیرِ التوا: رابطہ ہوا، ابھی کسی کھمبے پر نہیں",
    standing_revoked: "منسوخ",
    commissioned_but_failed: "{time} کو چالو ہوا، لیکن آخری سیلف ٹیسٹ فیل ہوا",
    note_sensor_found: "{fault}، سینسر نے پکڑا",
    note_sensor_verified_night: "بتی رات میں {minutes} منٹ سے ٹھیک جل رہی ہے",
    note_sensor_verified_day: "بتی دن میں {minutes} منٹ سے بجھی ہوئی ہے",
    note_sensor_reopened: "ٹکٹ کو ٹھیک قرار دینے کے {minutes} منٹ بعد بھی خرابی موجود ہے",
    node_text: "نوڈ کی رپورٹ:",
    check_title_settings: "سیٹنگز",
    check_title_profile: "ہارڈ ویئر پروفائل",
    check_title_agent: "نوڈ ایجنٹ بند ہے",
    check_title_hardware: "سینسر کھل سکتے ہیں",
    check_title_spool: "اسپول میں لکھا جا سکتا ہے اور جگہ ہے",
    check_title_clock: "گھڑی درست وقت پر ہے",
    check_title_lamp_sensor: "بتی کا سینسر پڑھ رہا ہے",
    check_title_ambient_light: "گلی کی روشنی کا سینسر پڑھ رہا ہے",
    check_title_footfall: "لوگوں کا سینسر (PIR) پڑھ رہا ہے",
    check_title_radar: "لوگوں کا ریڈار (LD2410) رپورٹ کر رہا ہے",
    check_title_tamper: "ڈبے کا ڈھکن بند ہے",
    check_title_energy_meter: "بجلی کا میٹر پڑھ رہا ہے",
    check_title_cpu_temp: "پروسیسر کا درجۂ حرارت",
    check_title_lamp_responds: "بتی کا سینسر جواب دیتا ہے",
    check_title_broker: "بروکر اس نوڈ کو محفوظ کنکشن پر قبول کرتا ہے",
    check_title_hub: "ہب سیلف ٹیسٹ کی تصدیق کرتا ہے",
    check_remedy_spool: "ایس ڈی کارڈ پر جگہ خالی کریں، یا آف لائن کے کم دن رکھیں۔",
    check_remedy_clock: "پائی پر وقت کی ہم آہنگی (NTP) چالو کریں اور اسے ٹائم سرور تک پہنچنے دیں۔",
    check_remedy_lamp_sensor: "بتی کے سینسر کی تاریں وائرنگ ٹیبل سے ملا کر دیکھیں۔",
    check_remedy_ambient_light: "گلی کی روشنی کے سینسر سے پردہ ہٹائیں اور اس کی تاریں دیکھیں۔",
    check_remedy_footfall: "لوگوں کے سینسر کی تار اور اس کی 5 وولٹ سپلائی دیکھیں۔",
    check_remedy_radar: "ریڈار کی سیریل تاریں (آر ایکس اور ٹی ایکس الٹی) اور سیریل پورٹ کی سیٹنگ دیکھیں۔",
    check_remedy_tamper: "ڈھکن بند کریں تاکہ وہ سوئچ کو دبائے؛ ورنہ سوئچ کی تار دیکھیں۔",
    check_remedy_energy_meter: "بجلی کے میٹر کی تاریں (وولٹیج کی دونوں تاریں اور سیریل رابطہ) دیکھیں۔",
    check_remedy_cpu_temp: "ڈبا بہت گرم ہے: اسے سایہ دیں اور اس کے سوراخ کھلے رکھیں۔",
    check_remedy_lamp_responds: "دیکھیں کہ بتی کا سینسر بتی کی طرف ہے اور جڑا ہوا ہے؛ ٹیسٹ کے دوران کیبنٹ سے بتی جلائیں یا بجھائیں۔",
    check_remedy_broker: "بنڈل کی نوڈ سیٹنگز (ہب کے سرٹیفکیٹ کے ساتھ محفوظ کنکشن) استعمال کریں اور پاس ورڈ دیکھیں۔",
    check_remedy_hub: "دیکھیں کہ ہب چل رہا ہے اور نوڈ اس تک پہنچ سکتا ہے۔",
    check_remedy_hardware: "سینسروں کی وائرنگ، وائرنگ ٹیبل سے ملا کر دیکھیں۔",
    check_remedy_agent: "سیلف ٹیسٹ سے پہلے نوڈ ایجنٹ بند کریں۔",
    check_remedy_settings: "نوڈ کی سیٹنگز فائل درست کریں۔",
    check_remedy_profile: "ایسا ہارڈ ویئر پروفائل چنیں جو موجود ہو۔",
    fleet_search: "نوڈ تلاش کریں: آئی ڈی، کھمبا یا علاقہ",
    fleet_all: "تمام نوڈز",
    fleet_page: "{n} میں سے {from}–{to}",
    prev_page: "پچھلا",
    next_page: "اگلا",
    search: "تلاش",
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

export function hasKey(key) { return key in STRINGS[lang] || key in STRINGS.en; }

/** A label for a value from the API (rule, status, district) with a fallback to the value. */
export function label(prefix, value) {
  if (value === null || value === undefined) return "";
  const key = `${prefix}_${value}`;
  return STRINGS[lang][key] ?? STRINGS.en[key] ?? String(value);
}

const locale = () => (lang === "ur" ? "ur-PK" : "en-PK");
// Urdu pages use the 24-hour clock: CLDR's Urdu still writes "AM"/"PM" in Latin letters.
// Digits are Western (0-9) in both languages, as CLDR's ur-PK and Pakistani signage have
// them; every number goes through number()/time() so both pages write them one way.
const hours = () => (lang === "ur" ? { hourCycle: "h23" } : {});

export function time(epoch) {
  if (epoch === null || epoch === undefined) return "";
  return new Intl.DateTimeFormat(locale(), {
    timeZone, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", ...hours(),
  }).format(new Date(epoch * 1000));
}

export function clock(epoch, withDay = false) {
  return new Intl.DateTimeFormat(locale(), {
    timeZone, hour: "2-digit", minute: "2-digit", ...hours(), ...(withDay ? { weekday: "short" } : {}),
  }).format(new Date(epoch * 1000));
}

/**
 * A figure with its unit ("0.3 W", "12 lux"), isolated left to right: inside an Urdu
 * sentence the bidi algorithm would otherwise move the number behind its unit.
 */
export function qty(value, digits = 0, unit = "") {
  const el = document.createElement("bdi");
  el.setAttribute("dir", "ltr");
  el.className = "qty";
  el.textContent = unit ? `${number(value, digits)}\u00a0${unit}` : number(value, digits);
  return el;
}

/** A time in its own isolate, so its digits never mix with the sentence around it. */
export function when(epoch) {
  const el = document.createElement("bdi");
  el.className = "when";
  el.textContent = time(epoch);
  return el;
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
