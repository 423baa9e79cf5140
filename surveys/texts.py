"""The bot's sentences, in Vietnamese: what the state machines, the use cases, the reminders
and the reports say, in one place so that wording can be reviewed.

A sentence only one channel or the application says lives in that module, in a block headed
"sentences" (the console's and Zalo's hints in ``bot/channels/console.py`` and
``bot/channels/zalo.py``, the demo's in ``bot/app/demo.py``, the Zalo poster's and invitation's
in ``bot/app/verbs.py``); every sentence is written once.

Sentences a citizen can read are marked ``N_(…)``: they are the message ids of the
citizens' catalogue (surveys/i18n.py), translated into Khmer and English in surveys/locale, and
must be translated with ``i18n.translate`` before ``.format``. Officials' sentences are
Vietnamese only. Functions take the values they need and return finished text. Nothing here
does I/O.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from surveys.i18n import N_

# --------------------------------------------------------------------------- common

DATE_FMT = "%d/%m/%Y"


def d(day: date) -> str:
    """A date as dd/mm/yyyy."""
    return day.strftime(DATE_FMT)


def dt(moment: datetime) -> str:
    """A local time as HH:MM dd/mm/yyyy."""
    return moment.strftime(f"%H:%M {DATE_FMT}")


WELCOME_CITIZEN = N_(
    "Xin chào! Đây là trợ lý cải cách hành chính của {org}.\n"
    "Để đánh giá mức độ hài lòng, ông/bà vui lòng quét mã QR tại nơi vừa làm thủ tục "
    "(bộ phận một cửa, trường học, cơ sở y tế)."
)
UNKNOWN_COMMAND = N_("Tôi chưa hiểu lệnh này. Gõ /help để xem những việc tôi làm được.")
NOT_UNDERSTOOD = N_("Tôi chưa hiểu tin nhắn này. Gõ /help để xem những việc tôi làm được.")
TOO_LONG = N_("Tin nhắn quá dài (tối đa {limit} ký tự). Ông/bà vui lòng gửi ngắn gọn hơn.")
BUTTON_EXPIRED = N_(
    "Nút này đã hết hiệu lực hoặc không dành cho ông/bà; không có gì thay đổi. "
    "Gõ /help để xem hướng dẫn."
)
CANCELLED = N_("Đã hủy. Dữ liệu đã gửi trước đó (nếu có) vẫn được giữ nguyên.")
NOTHING_TO_CANCEL = N_("Không có việc gì đang dở để hủy.")
ADMIN_ONLY = N_("Xin lỗi, chức năng này chỉ dành cho cán bộ {office} được phân quyền.")
MEMBER_ONLY = N_(
    "Chức năng này dành cho thủ trưởng các cơ quan, đơn vị đã đăng ký. "
    "Vui lòng liên hệ {office} để nhận đường dẫn đăng ký."
)
GROUP_PRIVATE_ONLY = N_("Vui lòng nhắn riêng cho bot để thực hiện việc này.")
ERROR = N_(
    "Xin lỗi, đã có lỗi khi xử lý. Dữ liệu đã ghi nhận trước đó không bị mất; vui lòng thử lại."
)

HELP_CITIZEN = N_(
    "Tôi giúp người dân, doanh nghiệp đánh giá mức độ hài lòng về dịch vụ công.\n"
    "• Quét mã QR tại nơi vừa làm thủ tục để bắt đầu khảo sát (dưới 1 phút, ẩn danh).\n"
    "• /huy — dừng khảo sát đang làm."
)
HELP_MEMBER = (
    "Ông/bà đã đăng ký báo cáo cho: {unit}.\n"
    "• /baocao (hoặc /report) — nhập báo cáo kỳ hiện tại; có thể nhập nhanh một lần, "
    "ví dụ: /baocao 2=120/150 5c=300/520 11b=64\n"
    "• /baocao lần nữa sau khi gửi — sửa số liệu đã gửi (trước khi kỳ báo cáo đóng).\n"
    "• /baocao MÃ_ĐỢT (ví dụ /baocao 2026-Q4) — chọn đợt khi có nhiều đợt đang mở.\n"
    "• /qr MÃ_ĐIỂM [MÃ_HỒ_SƠ] [km|en] — áp phích mã QR khảo sát của điểm tiếp dân thuộc "
    "đơn vị; kèm mã hồ sơ thì đường dẫn chỉ dùng được một lần; km, en: áp phích và khảo sát "
    "tiếng Khmer, tiếng Anh.\n"
    "• /web (hoặc /maytinh) — đường dẫn đăng nhập để nhập báo cáo trên máy tính.\n"
    "• /dinhtinh MÃ_CHỈ_TIÊU nội dung — ghi ngắn phần định tính của chỉ tiêu (10, 13).\n"
    "• /huy (hoặc /cancel) — dừng việc đang làm.\n"
    "Bot sẽ nhắc trước hạn nộp báo cáo (trước ngày 15 tháng cuối quý)."
)
HELP_ADMIN = (
    "Chức năng dành cho {office}:\n"
    "• /trangthai (hoặc /status) — tình hình nộp báo cáo, chỉ tiêu, mức độ hài lòng; "
    "chi tiết: /trangthai MÃ_ĐƠN_VỊ, /trangthai 5c (một chỉ tiêu), /trangthai 2026-Q3 (kỳ trước), "
    "/trangthai 2026-H1 (6 tháng), /trangthai 2026 (cả năm); chi tiết theo kỳ: "
    "/trangthai MÃ_ĐƠN_VỊ 2026-H1, /trangthai 5c 2026.\n"
    "• /xuat (hoặc /export) [KỲ] — bảng tổng hợp Excel của kỳ báo cáo (ví dụ /xuat 2026-Q3).\n"
    "• /baocaotonghop [KỲ] — dự thảo báo cáo kết quả CCHC gửi cấp trên (tệp Word theo thể "
    "thức Nghị định 30/2020/NĐ-CP), ví dụ /baocaotonghop 2026-Q4.\n"
    "• /nhacnho (hoặc /remind) — nhắc ngay các đơn vị chưa nộp (mỗi người tối đa 1 lần/ngày).\n"
    "• /baocao MÃ_ĐƠN_VỊ — nhập báo cáo thay cho một đơn vị (ví dụ sau khi gọi điện).\n"
    "• /web (hoặc /maytinh) — trang làm việc trên máy tính: bảng theo dõi, in, tải Excel.\n"
    "• /dotxuat — mở đợt báo cáo đột xuất, đóng hoặc gia hạn một đợt; /donvi — mã đơn vị.\n"
    "• /qr MÃ_ĐIỂM [MÃ_HỒ_SƠ] [km|en] — áp phích mã QR khảo sát (kèm mã hồ sơ: dùng một lần; "
    "km, en: áp phích và khảo sát tiếng Khmer, tiếng Anh).\n"
    "• /khaosat_chinhthuc MÃ TỶ_LỆ [CỠ_MẪU] — nhập kết quả khảo sát chính thức "
    "(ví dụ SIPAS), hiển thị bên cạnh kết quả khảo sát qua bot.\n"
    "• /dinhtinh MÃ_ĐƠN_VỊ MÃ_CHỈ_TIÊU nội dung — ghi phần định tính thay cho một đơn vị.\n"
    "• /huy (hoặc /cancel) — dừng việc đang làm."
)

# --------------------------------------------------------------------------- registration

INVITE_OK = (
    "Đăng ký thành công! Ông/bà là người báo cáo của {unit}.\n"
    "Gõ /baocao để nhập báo cáo kỳ hiện tại, /help để xem hướng dẫn."
)
INVITE_INVALID = (
    "Đường dẫn đăng ký không hợp lệ, đã được sử dụng hoặc đã hết hạn. "
    "Vui lòng liên hệ {office} để nhận đường dẫn mới."
)
INVITE_ALREADY = "Ông/bà đã đăng ký báo cáo cho {unit}. Không cần đăng ký lại."
GROUP_REGISTERED = "Đã đăng ký nhóm này nhận thông tin cải cách hành chính cho {office}."

# --------------------------------------------------------------------------- reminders


def reminder(
    unit: str,
    period: str,
    deadline: date,
    overdue: bool,
    days_left: int,
    recipient: str,
    desk: bool = False,
) -> str:
    """A unit's reminder, worded as Phòng Nội vụ writes it: what is due, where it goes
    (``recipient``: "UBND huyện Long Phú (qua Phòng Nội vụ)", from the data files) and the
    deadline as the plan states it, "trước ngày 15" (``deadline`` is the last day on time)."""
    before = d(deadline + timedelta(days=1))
    at_desk = f"\n{DESK_HINT}" if desk else ""
    if overdue:
        return (
            f"⚠️ {unit} chưa nộp báo cáo cải cách hành chính {period} về {recipient}. "
            f"Hạn nộp là trước ngày {before} (đã quá hạn {-days_left} ngày). "
            "Đề nghị thủ trưởng đơn vị nộp ngay: gõ /baocao hoặc bấm nút bên dưới."
        ) + at_desk
    when = "hôm nay là ngày cuối" if days_left == 0 else f"còn {days_left} ngày"
    return (
        f"🔔 Nhắc nộp báo cáo cải cách hành chính {period} của {unit}: gửi về {recipient} "
        f"trước ngày {before} ({when}).\nGõ /baocao hoặc bấm nút bên dưới để nhập."
    ) + at_desk


DESK_HINT = (
    "💻 Nhập trên máy tính: bấm «Mở trên máy tính» (hoặc gõ /web) để nhận đường dẫn đăng nhập."
)
DESK_BUTTON = "💻 Mở trên máy tính"


REMIND_BUTTON = "📝 Nhập báo cáo"


def remind_queued(count: int, units: int) -> str:
    if count == 0:
        return (
            "Không có lời nhắc mới nào cần gửi (các đơn vị đã nộp, chưa có người đăng ký, "
            "hoặc đã được nhắc hôm nay)."
        )
    return f"Đã xếp {count} lời nhắc tới người báo cáo của {units} đơn vị chưa nộp."


def overdue_admin(period: str, units: list[str]) -> str:
    listed = "\n".join(f"• {u}" for u in units)
    return f"⚠️ {period}: {len(units)} đơn vị đã quá hạn nộp báo cáo:\n{listed}"


def unreachable_admin(name: str, unit: str) -> str:
    return (
        f"Không gửi được tin nhắn tới {name} ({unit}): người này đã chặn bot hoặc "
        "xóa tài khoản. Vui lòng liên hệ trực tiếp."
    )


CHANNEL_NAMES = {
    "telegram": "Telegram",
    "zalo": "Zalo Bot",
    "zalo_oa": "Zalo OA",
    "zalo_zns": "ZNS (tin Zalo theo số điện thoại)",
}


def channel_paused_admin(channel: str, detail: str) -> str:
    """A platform refused the bot's key (Zalo Bot's 401): sending there waits, nothing is
    lost."""
    name = CHANNEL_NAMES.get(channel, channel)
    return (
        f"⚠️ {name} từ chối khóa truy cập của bot ({detail}). Việc gửi tin qua {name} đã tạm "
        "dừng; các tin chưa gửi vẫn được giữ lại và sẽ tự gửi khi khóa hợp lệ trở lại. "
        "Vui lòng kiểm tra token trong tệp cấu hình."
    )


def undeliverable_admin(name: str, unit: str, channel: str) -> str:
    """Zalo OA's -230: the person has not written to the OA for 7 days."""
    via = CHANNEL_NAMES.get(channel, channel)
    return (
        f"Không gửi được lời nhắc qua {via} tới {name} ({unit}): người này chưa nhắn tin cho "
        f"trang Zalo OA trong 7 ngày qua, nên Zalo không cho phép gửi. Vui lòng nhắc qua kênh "
        "khác hoặc liên hệ trực tiếp."
    )


def unreached_admin(name: str, unit: str, reason: str) -> str:
    """Neither the Zalo OA (-230) nor ZNS to the person's number could carry a reminder."""
    return (
        f"Không gửi được lời nhắc tới {name} ({unit}): người này chưa nhắn tin cho trang "
        f"Zalo OA trong 7 ngày qua, và tin ZNS tới số điện thoại của họ cũng không gửi được "
        f"({reason}). Vui lòng nhắc qua kênh khác hoặc liên hệ trực tiếp."
    )


# --------------------------------------------------------------------------- phone (ZNS)

PHONE_USAGE = (
    "Gửi số điện thoại di động công vụ để nhận lời nhắc qua Zalo theo số điện thoại (ZNS) "
    "khi không nhắn được qua trang Zalo OA, ví dụ: /sodienthoai 0912 345 678\n"
    "Xóa số đã lưu: /sodienthoai xoa"
)
PHONE_NONE = "Ông/bà chưa lưu số điện thoại nào.\n" + PHONE_USAGE
PHONE_REMOVED = "Đã xóa số điện thoại. Bot sẽ không gửi tin ZNS cho ông/bà nữa."
PHONE_ZNS_OFF = "(Hiện đơn vị chưa bật gửi tin ZNS; số được lưu để dùng khi bật.)"


def phone_saved(masked: str) -> str:
    return (
        f"Đã lưu số điện thoại {masked}. Khi không nhắn được qua trang Zalo OA (ông/bà chưa "
        "nhắn cho trang trong 7 ngày), lời nhắc sẽ gửi qua Zalo tới số này (ZNS).\n"
        "Đổi số: /sodienthoai SỐ_MỚI — xóa số: /sodienthoai xoa"
    )


def phone_shown(masked: str) -> str:
    return (
        f"Số điện thoại đã lưu: {masked}.\n"
        "Đổi số: /sodienthoai SỐ_MỚI — xóa số: /sodienthoai xoa"
    )


def phone_invalid(why: str) -> str:
    return f"Số điện thoại chưa đúng: {why}.\nVí dụ: /sodienthoai 0912 345 678"


# --------------------------------------------------------------------------- reporting

NO_OPEN_ROUND = "Hiện không có kỳ báo cáo nào đang mở."
NOTHING_DUE = "Đơn vị không có chỉ tiêu nào phải báo cáo trong kỳ này."


def report_intro(unit: str, period: str, deadline: date, count: int) -> str:
    return (
        f"Báo cáo {period} của {unit}. Hạn nộp: {d(deadline)}.\n"
        f"Có {count} chỉ tiêu; mỗi câu hỏi một số. Gõ /huy để dừng, lúc khác gõ /baocao "
        "để làm tiếp."
    )


def report_resume(index: int, total: int) -> str:
    return f"Tiếp tục báo cáo đang làm dở (chỉ tiêu {index}/{total})."


def progress(index: int, total: int) -> str:
    return f"Chỉ tiêu {index}/{total}"


ASK_DENOMINATOR = "{label} (nhập một số, ví dụ 150):"
ASK_NUMERATOR = "{label} (nhập một số, không lớn hơn {den}):"
ASK_PERCENT = "Nhập tỷ lệ phần trăm (từ 0 đến 100, ví dụ 85,5):"
ASK_COUNT = "Nhập số lượng (số nguyên, ví dụ 12):"
SKIP_BUTTON = "Không áp dụng cho đơn vị"
ASK_SKIP_REASON = "Vui lòng ghi ngắn gọn lý do chỉ tiêu này không áp dụng cho đơn vị:"
SKIP_REASON_EMPTY = "Lý do không được để trống. Vui lòng ghi ngắn gọn lý do:"

NUMBER_PROBLEMS = {
    "empty": "Chưa có số nào.",
    "negative": "Số liệu không được âm.",
    "not_a_number": "Đây không phải là một số.",
    "several": "Vui lòng chỉ nhập một số.",
    "ambiguous": "Cách viết số chưa rõ ràng.",
    "too_long": "Số quá dài.",
}
NUMBER_EXAMPLE = (
    " Ví dụ cách nhập: 1.234 hoặc 1 234 (một nghìn hai trăm ba mươi bốn), 85,5 hoặc 85,5%."
)
NUMERATOR_TOO_BIG = "Số này ({num}) không được lớn hơn tổng số đã nhập ({den}). Vui lòng nhập lại."
PERCENT_RANGE = "Tỷ lệ phải nằm trong khoảng 0–100%. Vui lòng nhập lại."
COUNT_WHOLE = "Số lượng phải là số nguyên (không có phần thập phân). Vui lòng nhập lại."


def big_change(new: str, old: str) -> str:
    return (
        f"Giá trị {new} chênh lệch hơn 50% so với kỳ trước ({old}). "
        "Ông/bà có chắc chắn số liệu này đúng không?"
    )


CONFIRM_KEEP = "Đúng, giữ số này"
CONFIRM_RETYPE = "Nhập lại"
SUMMARY_SEND = "✅ Gửi báo cáo"
SUMMARY_EDIT = "✏️ Sửa một mục"
SUMMARY_CANCEL = "❌ Hủy"
PICK_ITEM = "Chọn chỉ tiêu cần sửa (bấm nút hoặc gõ mã, ví dụ 5c):"
SUMMARY_HINT = "Bấm “Gửi báo cáo” để nộp (hoặc gõ: gửi / sửa / hủy)."
MET = "đạt"
NOT_MET = "chưa đạt"


def summary_header(unit: str, period: str) -> str:
    return f"TÓM TẮT BÁO CÁO {period} — {unit}"


def report_stored(period: str, late: bool, count: int) -> str:
    tail = " (nộp sau hạn)" if late else ""
    return (
        f"Đã ghi nhận báo cáo {period}{tail}: {count} chỉ tiêu. Cảm ơn ông/bà!\n"
        "Nếu cần sửa, gõ /baocao trước khi kỳ báo cáo đóng."
    )


def report_corrected(period: str, changes: int) -> str:
    return f"Đã ghi nhận {changes} thay đổi cho báo cáo {period}. Lịch sử sửa đổi được lưu lại."


NO_CHANGES = "Không có số liệu nào thay đổi; báo cáo giữ nguyên."


def already_submitted(by: str, when: str) -> str:
    return (
        f"Đơn vị đã nộp báo cáo kỳ này (người gửi: {by}, lúc {when}). "
        "Ông/bà có thể sửa số liệu: bấm “Sửa một mục” trong bản tóm tắt dưới đây; "
        "lịch sử sửa đổi được lưu lại."
    )


def current_value(text: str) -> str:
    return f"Giá trị đang lưu: {text}. Nhập số mới, hoặc gõ “=” để giữ nguyên."


ROUND_CLOSED = "Kỳ báo cáo này đã đóng, không thể sửa số liệu."
ADMIN_UNIT_NEEDED = "Vui lòng ghi mã đơn vị, ví dụ: /baocao PNV. Xem danh sách mã bằng /donvi."
UNKNOWN_UNIT = "Không có đơn vị mã “{code}”."
ADMIN_ENTERING = "Ông/bà đang nhập thay cho {unit}; báo cáo sẽ được ghi là do {office} nhập."
QUICK_UNKNOWN = "Mã chỉ tiêu không có trong kỳ báo cáo của đơn vị: {codes}."
QUICK_BAD = "Phần chưa đúng: {parts}. Cách viết: mã=số, hoặc mã=tử/mẫu cho tỷ lệ, ví dụ 5c=300/520."
QUICK_MISSING = "Còn thiếu: {codes}. Tôi sẽ hỏi tiếp các chỉ tiêu này."
NUDGE = "Báo cáo của ông/bà đang làm dở. Gõ /baocao để làm tiếp, hoặc /huy để bỏ."
REPORT_NOT_ENTERED = "(chưa nhập)"
REPORT_SKIPPED = "không áp dụng (lý do: {reason})"
NOTHING_IN_PERIOD = "không phát sinh trong kỳ"
TARGET_NOTE = "mục tiêu năm {year}: {sign} {target}"
COUNT_TOO_BIG = "Số này quá lớn (tối đa {limit}). Vui lòng kiểm tra và nhập lại."
COUNT_NOT_PERCENT = (
    "Ở đây cần số lượng (số nguyên), không phải tỷ lệ %; bot tự tính tỷ lệ. Vui lòng nhập lại."
)
SKIP_REASON_WORDS = (
    "Lý do cần ghi bằng chữ (ví dụ: đơn vị không có thủ tục này). "
    "Bấm “Quay lại” nếu muốn nhập số liệu."
)
KEEP_BUTTON = "Giữ nguyên"
BACK_BUTTON = "↩ Quay lại"
BACK_TO_DENOMINATOR = "↩ Sửa tổng số"
BUTTON_STALE = (
    "Nút này thuộc một câu hỏi trước nên không còn dùng được; không có gì thay đổi. "
    "Câu hỏi hiện tại:"
)
QUICK_CODES = "Các mã chỉ tiêu của đơn vị trong kỳ này: {codes}."
QUICK_NEEDS_PAIR = "cần hai số dạng tử/mẫu, ví dụ {code}=300/520"
QUICK_ONE_NUMBER = "chỉ nhập một số"
QUICK_DUPLICATE = "mã bị lặp"
ROUND_NOT_OPEN_FOR_UNIT = "Đợt báo cáo {key} đã đóng hoặc không yêu cầu đơn vị này báo cáo."


def other_rounds(rounds: list[tuple[str, str]]) -> str:
    listed = "; ".join(f"{key} ({title})" for key, title in rounds)
    example = rounds[0][0]
    return (
        f"Đơn vị còn đợt báo cáo khác đang mở: {listed}. "
        f"Gõ /baocao {example} để nhập hoặc sửa đợt đó."
    )


def submitted_meanwhile(by: str, when: str) -> str:
    return (
        f"Trong lúc ông/bà nhập, {by} đã gửi báo cáo của đơn vị (lúc {when}). "
        "Số liệu ông/bà vừa nhập được ghi như một lần sửa; lịch sử sửa đổi được lưu lại."
    )


# --------------------------------------------------------------------------- surveys

SURVEY_UNKNOWN = N_(
    "Mã khảo sát không hợp lệ. Vui lòng quét lại mã QR tại nơi làm thủ tục, "
    "hoặc hỏi cán bộ tại quầy."
)
SURVEY_LINK_USED = N_("Đường dẫn khảo sát này đã được sử dụng. Cảm ơn ông/bà!")
SURVEY_TOO_MANY = N_(
    "Ông/bà đã bắt đầu nhiều khảo sát trong thời gian ngắn. Vui lòng thử lại sau ít phút."
)
SURVEY_REPEAT = N_(
    "Cảm ơn ông/bà! Ý kiến hôm nay tại điểm này đã được ghi nhận trước đó, "
    "nên lần trả lời này không được tính thêm."
)
SURVEY_SKIP = N_("Bỏ qua")
SURVEY_TEXT_TOO_LONG = N_("Góp ý quá dài (tối đa {limit} ký tự). Vui lòng viết ngắn gọn hơn.")
SURVEY_RATING_HINT = N_(
    "Bấm một nút hoặc gõ một số từ 1 (rất không hài lòng) đến 5 (rất hài lòng)."
)
SURVEY_CHOICE_HINT = N_("Bấm một nút hoặc gõ số thứ tự của lựa chọn (1–{n}).")
SURVEY_THANKS = N_("Cảm ơn ông/bà đã đánh giá! Ý kiến của ông/bà đã được ghi nhận.")
SURVEY_OLD_BUTTON = N_("Nút này thuộc một câu hỏi trước. Vui lòng trả lời câu hỏi hiện tại:")
SURVEY_BUSY_REPORT = (
    "Ông/bà đang nhập dở một báo cáo. Gõ /baocao để làm tiếp hoặc /huy để dừng, "
    "rồi quét lại mã QR để đánh giá."
)


SURVEY_ALREADY_COUNTED = N_(
    "Cảm ơn ông/bà! Hôm nay ông/bà đã đánh giá {point}. Mỗi người được tính một lần "
    "mỗi ngày tại mỗi nơi, nên lần này không cần đánh giá lại."
)


# The web page and the counter tablet (bot/channels/web)
WEB_SEND = N_("Gửi")
WEB_LANGUAGE = N_("Ngôn ngữ")
KIOSK_WAITING = N_("Xin mời ông/bà chạm vào một nút để đánh giá")
KIOSK_OLD_SCREEN = N_("Màn hình này đã cũ. Xin mời ông/bà đánh giá lại từ đầu.")
KIOSK_IDLE = N_("Lượt đánh giá trước chưa xong đã quá một phút nên không được tính.")
KIOSK_FOLLOW_UP_SEND = N_("Gửi đánh giá")
KIOSK_BACK_SOON = N_("Màn hình sẽ trở về trang đánh giá sau ít giây.")
POSTER_OTHER_WAYS = N_("Hoặc trên Zalo: {zalo} · Telegram: {telegram}")
POSTER_ZALO_WAY = N_("Hoặc trên Zalo: {zalo}")
POSTER_TELEGRAM_WAY = N_("Hoặc trên Telegram: {telegram}")


POSTER_INSTRUCTION = N_(
    "Quét mã QR bằng điện thoại để đánh giá mức độ hài lòng (ẩn danh, dưới 1 phút)"
)
POSTER_RECORD = N_("Hồ sơ: {record}")
QR_USAGE = (
    "Cách dùng: /qr MÃ_ĐIỂM (mã QR của điểm khảo sát) hoặc /qr MÃ_ĐIỂM MÃ_HỒ_SƠ "
    "(đường dẫn dùng một lần cho một hồ sơ); thêm km hoặc en ở cuối để in áp phích "
    "tiếng Khmer hoặc tiếng Anh. Các điểm: {points}"
)
QR_NO_LANGUAGE = "Bộ câu hỏi của điểm {point} chưa có bản ngôn ngữ “{language}”."
QR_STAFF_ONLY = (
    "Chức năng này dành cho cán bộ {office} và thủ trưởng các cơ quan, đơn vị đã đăng ký."
)
QR_UNKNOWN_POINT = "Không có điểm khảo sát mã “{code}”. Các điểm: {points}"
QR_BAD_RECORD = (
    "Mã hồ sơ “{record}” không hợp lệ: tối đa 64 ký tự, gồm chữ không dấu, số và . - _ /"
)


def qr_caption(point: str, link: str, record: str | None) -> str:
    if record:
        return (
            f"Mã QR khảo sát dùng MỘT LẦN cho hồ sơ {record} — {point}.\n{link}\n"
            "Đưa người dân quét mã hoặc gửi đường dẫn này; sau một lần trả lời, mã hết hiệu lực."
        )
    return f"Mã QR khảo sát — {point}.\n{link}\nIn áp phích này và đặt tại nơi tiếp dân."


OFFICIAL_USAGE = (
    "Cách dùng: /khaosat_chinhthuc MÃ_CHỈ_TIÊU TỶ_LỆ [CỠ_MẪU], ví dụ "
    "/khaosat_chinhthuc 14 87,5 400 — nhập kết quả một cuộc khảo sát chính thức (ví dụ SIPAS) "
    "cho kỳ hiện tại. Mã chỉ tiêu: {codes}. Số liệu này được hiển thị bên cạnh, không gộp "
    "vào kết quả khảo sát qua bot."
)
OFFICIAL_BAD_TARGET = "Chỉ tiêu “{code}” không phải chỉ tiêu khảo sát hài lòng. Mã hợp lệ: {codes}."
OFFICIAL_BAD_VALUE = "Tỷ lệ “{text}” không hợp lệ: cần một số từ 0 đến 100, ví dụ 87,5."
OFFICIAL_BAD_SAMPLE = "Cỡ mẫu “{text}” không hợp lệ: cần một số nguyên dương, ví dụ 400."


def official_saved(code: str, name: str, value: str, sample: int | None, period: str) -> str:
    size = f", cỡ mẫu {sample} người" if sample else ""
    return (
        f"Đã ghi kết quả khảo sát chính thức cho chỉ tiêu {code} ({name}), {period}: "
        f"{value}{size}. /trangthai hiển thị số này bên cạnh kết quả khảo sát qua bot."
    )


def official_beside(value: str) -> str:
    return f" (khảo sát chính thức: {value})"


SURVEY_PROGRESS = N_("Câu {index}/{total}")


def survey_start(point: str, intro: str) -> str:
    return f"📋 {point}\n{intro}".strip()


def feedback_admin(point: str, rating: int, comment: str, day: date) -> str:
    return (
        f"📣 Phản ánh của người dân ({d(day)}) tại {point}: mức {rating}/5.\n"
        f"Nội dung: {comment}\n(Ẩn danh — không lưu thông tin người gửi.)"
    )


# --------------------------------------------------------------------------- status

NO_ROUND_STATUS = "Chưa có kỳ báo cáo nào."
NOT_ENOUGH_DATA = "chưa đủ dữ liệu"
SURVEY_EXPIRED = N_(
    "Phiếu khảo sát đã hết hạn (mỗi phiếu chỉ mở trong {minutes} phút) và không được tính. "
    "Vui lòng quét lại mã QR nếu muốn đánh giá."
)

# --------------------------------------------------------------------------- ad-hoc rounds

ROUND_USAGE = (
    "Mở đợt báo cáo đột xuất:\n"
    "/dotxuat Tiêu đề | hạn nộp dd/mm/yyyy | đơn vị | chỉ tiêu\n"
    "ví dụ: /dotxuat Rà soát TTHC trực tuyến | 31/12/2026 | phong_ban XA-CK | 5a 5c\n"
    "(đơn vị: mã đơn vị hoặc loại đơn vị, hoặc “tất cả”; chỉ tiêu: mã, hoặc “tất cả”)\n"
    "Đóng một đợt: /dotxuat dong MÃ_ĐỢT · Gia hạn: /dotxuat giahan MÃ_ĐỢT dd/mm/yyyy"
)
ROUNDS_OPEN_HEADER = "Các đợt báo cáo đang mở:"
ROUND_UNKNOWN = "Không có đợt báo cáo mã “{key}”."
ROUND_BAD_DATE = "Ngày “{text}” không hợp lệ; vui lòng viết dd/mm/yyyy, ví dụ 31/12/2026."
ROUND_PAST_DATE = "Hạn nộp không được ở trong quá khứ."
ROUND_BAD_TITLE = "Tiêu đề không được để trống và tối đa {limit} ký tự."
ROUND_BAD_CODES = "Mã không hợp lệ: {codes}. Xem mã đơn vị bằng /donvi."
ROUND_OPENED = (
    "Đã mở đợt báo cáo {key}: {title}. Hạn nộp {deadline}. Đơn vị: {units}; chỉ tiêu: "
    "{indicators}. Bot sẽ nhắc các đơn vị theo lịch."
)
ROUND_CLOSED_OK = "Đã đóng đợt {key} ({title}); không nhận thêm báo cáo hay sửa số liệu."
ROUND_EXTENDED = "Đã gia hạn đợt {key} đến {deadline}."

# --------------------------------------------------------------------------- status, export

STATUS_USAGE = (
    "Không hiểu “{arg}”. Dùng: /trangthai (kỳ hiện tại), /trangthai MÃ_ĐƠN_VỊ, "
    "/trangthai MÃ_CHỈ_TIÊU (ví dụ 5c), /trangthai 2026-Q3 (kỳ trước), /trangthai 2026-H1 "
    "(6 tháng), /trangthai 2026 (cả năm); một đơn vị hoặc chỉ tiêu theo kỳ: "
    "/trangthai 5c 2026-H1."
)
CHART_CAPTION = "Biểu đồ chỉ tiêu và mức độ hài lòng — {title}"
EXPORT_CAPTION = "Bảng tổng hợp {title} (Excel)"
REPORT_CAPTION = (
    "Dự thảo báo cáo kết quả thực hiện CCHC {title} (Word): số/ký hiệu, ngày tháng, phần "
    "đánh giá và phương hướng để {office} viết tiếp, rồi trình ký."
)
REPORT_NOT_ON_ZALO = (
    "Dự thảo báo cáo {title} (tệp Word) không gửi được qua Zalo. Lấy tệp qua Telegram "
    "(/baocaotonghop {key}), qua trò chuyện trong terminal (cchc-bot chat), hoặc trên máy chủ "
    "của bot: cchc-bot report --round {key} --out {name}"
)
REPORT_TEMPLATE_BROKEN = "Không tạo được báo cáo: {problem}."

# --------------------------------------------------------------------------- terminal chat, demo


# --------------------------------------------------------------------------- Zalo, linking

HELP_LINK = (
    "• /lienket — dùng cả Telegram và Zalo: lấy mã liên kết, rồi gửi /lienket MÃ "
    "từ tài khoản kia.\n"
    "• /sodienthoai SỐ — lưu số di động để nhận lời nhắc qua Zalo theo số điện thoại (ZNS) "
    "khi không nhắn được qua trang Zalo OA; /sodienthoai xoa để xóa."
)
LINK_MEMBER_ONLY = (
    "Chỉ thủ trưởng các cơ quan, đơn vị đã đăng ký mới lấy được mã liên kết. "
    "Nếu ông/bà có mã từ tài khoản khác, gửi: /lienket MÃ"
)
LINK_INVALID = (
    "Mã liên kết không đúng, đã dùng hoặc đã hết hạn. "
    "Lấy mã mới bằng /lienket trên tài khoản đã đăng ký."
)
LINK_USAGE = "Mã liên kết gồm 6 chữ số, ví dụ: /lienket 123456"
LINK_OK = (
    "Liên kết thành công! Tài khoản này cũng báo cáo cho {unit}. "
    "Báo cáo đang làm dở trên tài khoản kia được tiếp tục ở đây: gõ /baocao."
)
LINK_ALREADY = "Tài khoản này đã đăng ký báo cáo cho {unit}; không liên kết thêm được."
LINK_SAME = "Tài khoản này đã được liên kết; không cần làm lại."


def link_code(code: str, minutes: int) -> str:
    return (
        f"Mã liên kết của ông/bà: {code} (dùng một lần, hiệu lực {minutes} phút).\n"
        f"Trên tài khoản kia (Zalo hoặc Telegram), gửi: /lienket {code}\n"
        "Không đưa mã này cho người khác."
    )


# --------------------------------------------------------------------------- the desk (web)

DESK_OFF = (
    "Trang làm việc trên máy tính chưa được bật trên máy chủ này ([web] enabled). "
    "Vui lòng nhập báo cáo bằng /baocao."
)


def desk_link(url: str, until: str) -> str:
    return (
        "💻 Đường dẫn đăng nhập trang làm việc trên máy tính (chỉ dùng được một lần, "
        f"hết hạn lúc {until}):\n{url}\n"
        "Không chuyển đường dẫn này cho người khác. Cần đường dẫn mới thì gõ lại /web."
    )


DESK_LINK_USED = (
    "Đường dẫn đăng nhập này đã được sử dụng hoặc đã hết hạn (mỗi đường dẫn chỉ dùng một lần, "
    "trong 10 phút). Vui lòng gõ /web trong bot để nhận đường dẫn mới."
)
DESK_LINK_BAD = (
    "Đường dẫn đăng nhập không hợp lệ. Vui lòng gõ /web trong bot để nhận đường dẫn mới."
)
DESK_LOGIN_NEEDED = (
    "Ông/bà chưa đăng nhập hoặc phiên làm việc đã hết hạn (sau 8 giờ không thao tác). "
    "Vui lòng gõ /web trong bot để nhận đường dẫn đăng nhập."
)
DESK_FORBIDDEN = "Ông/bà không có quyền xem trang này."
DESK_LOGGED_OUT = "Đã đăng xuất. Để làm việc tiếp, gõ /web trong bot để nhận đường dẫn mới."
DESK_CONFIRM = (
    "Số liệu thay đổi hơn 50% so với kỳ trước ({old}). Có chắc chắn không? "
    "Nếu đúng, đánh dấu ô «Tôi chắc chắn số liệu này đúng» rồi lưu lại."
)
DESK_SKIP_NEEDS_REASON = "Vui lòng ghi lý do không áp dụng."
DESK_NUMERATOR_MISSING = "Vui lòng nhập cả hai số (tử số và tổng số)."
DESK_SAVED = "Đã lưu nháp lúc {time}. Có thể làm tiếp trên điện thoại bằng /baocao."
DESK_SURE = "Tôi chắc chắn số liệu này đúng"
DESK_AUTOSAVED = "Đã lưu nháp lúc {time}."
DESK_AUTOSAVED_WITH_ERRORS = "Đã lưu nháp lúc {time}; còn {count} ô cần sửa (xem thông báo màu đỏ)."
DESK_AUTOSAVE_STALE = (
    "Chưa lưu được bản nháp: đợt báo cáo này không còn mở hoặc trang đã cũ. "
    "Vui lòng tải lại trang."
)
DESK_AUTOSAVE_OFFLINE = (
    "Chưa lưu được bản nháp (không kết nối được máy chủ). Số đã nhập vẫn còn trên trang; "
    "bấm «Lưu nháp» khi có mạng trở lại."
)
DESK_INCOMPLETE = "Còn {count} chỉ tiêu chưa nhập: {codes}. Vui lòng nhập đủ trước khi gửi."
DESK_HAS_ERRORS = "Có {count} ô cần sửa (xem thông báo màu đỏ bên cạnh từng ô)."
# /dinhtinh: the qualitative part of a target (10, 13), a short text per unit and round
QUALITATIVE_USAGE = (
    "Cách dùng: /dinhtinh MÃ_CHỈ_TIÊU nội dung — ghi ngắn gọn (tối đa {limit} ký tự) kết quả "
    "phần định tính của chỉ tiêu cho kỳ báo cáo của đơn vị, ví dụ /dinhtinh 13 Đã cử 2 công "
    "chức học đại học. Cán bộ {office} ghi thay: /dinhtinh MÃ_ĐƠN_VỊ MÃ_CHỈ_TIÊU nội dung. "
    "Chỉ tiêu có phần định tính: {codes}."
)
QUALITATIVE_BAD_INDICATOR = "Chỉ tiêu “{code}” không có phần định tính. Các chỉ tiêu có: {codes}."
QUALITATIVE_NOT_DUE = "Đơn vị {unit} không báo cáo chỉ tiêu {code}."
QUALITATIVE_TOO_LONG = "Nội dung dài {length} ký tự, tối đa {limit}. Xin viết ngắn gọn hơn."
QUALITATIVE_NO_ROUND = "Hiện không có kỳ báo cáo nào đang mở cho đơn vị {unit}."
QUALITATIVE_SAVED = (
    "Đã ghi phần định tính của chỉ tiêu {code} cho {unit}, {period}: “{text}”. "
    "/trangthai liệt kê nội dung này bên dưới chỉ tiêu."
)
