"""What the bot says to citizens and officers in chat, in one place for review and translation.

Vietnamese with full diacritics, short lines for cheap phones. Notifications of status
changes live in ``backend/notify/texts.py``; these are the chat turns.
"""

from __future__ import annotations

# -- menu ---------------------------------------------------------------------------------
MENU = "Xin chào! Tôi là trợ lý Một cửa. Anh/chị cần làm gì?"
MENU_SUBMIT = "📝 Nộp hồ sơ"
MENU_LOOKUP = "🔎 Tra cứu hồ sơ"
MENU_MINE = "📂 Hồ sơ của tôi"
MENU_HELP = "❓ Hướng dẫn"
MENU_SUPPLEMENT = "📎 Bổ sung hồ sơ"
HELP = (
    "Hướng dẫn:\n"
    "• «Nộp hồ sơ»: chọn thủ tục, chụp giấy tờ theo hướng dẫn, trả lời vài câu hỏi, xác nhận.\n"
    "• «Tra cứu»: gõ mã hồ sơ (ví dụ 000.31.57.H57-261123-0001) hoặc gửi ảnh mã QR trên giấy hẹn.\n"
    "• Khi cần bổ sung: gửi ảnh giấy tờ ngay trong cuộc trò chuyện này.\n"
    "Lúc nào cũng có thể gõ: «menu», «quay lại», «làm lại», «hủy», «trợ giúp».\n"
    "Anh/chị có thể dừng và quay lại tiếp tục sau, thông tin đã nhập vẫn được giữ."
)
NOT_UNDERSTOOD = "Tôi chưa hiểu ý anh/chị. Vui lòng chọn một mục bên dưới."
CANCELLED = "Đã hủy. Thông tin đang nhập đã được xóa."
NOTHING_TO_CANCEL = "Không có việc gì đang làm dở."
WENT_BACK = "Đã quay lại bước trước."
CANNOT_GO_BACK = "Không còn bước nào để quay lại."
RESTARTED = "Bắt đầu lại từ đầu."
STALE_BUTTON = "Nút này thuộc tin nhắn cũ, không dùng được nữa. Vui lòng dùng tin nhắn mới nhất."
BUSY = "Xin lỗi, hệ thống đang bận. Anh/chị vui lòng gửi lại sau ít phút."
WELCOME_BACK = "Chào mừng anh/chị quay lại. Ta tiếp tục từ chỗ đang dừng:"

NAV_BACK = "↩️ Quay lại"
NAV_CANCEL = "✖️ Hủy"
NAV_MENU = "🏠 Menu"

# -- bad input ----------------------------------------------------------------------------
STICKER = "Tôi chưa hiểu nhãn dán 🙂. Vui lòng gõ chữ hoặc bấm nút."
AUDIO = "Tôi chưa nghe được tin nhắn thoại. Vui lòng gõ chữ hoặc bấm nút."
VIDEO = "Tôi chưa xem được video. Vui lòng gửi ảnh chụp (JPG, PNG)."
LOCATION = "Tôi chưa dùng được vị trí. Vui lòng gõ địa chỉ bằng chữ."
OTHER_ATTACHMENT = "Tôi chưa xử lý được loại tin nhắn này. Vui lòng gõ chữ hoặc gửi ảnh."
NOT_A_PHOTO = "Tệp «{name}» không phải ảnh. Vui lòng gửi ảnh chụp giấy tờ (JPG, PNG), không gửi PDF hay tệp khác."
TOO_LARGE = "Ảnh quá lớn ({size}). Tối đa {limit}. Vui lòng gửi ảnh nhỏ hơn (gửi dạng ảnh, không gửi dạng tệp)."
IMAGE_REJECTED = {
    "empty": "Ảnh trống, không có dữ liệu. Vui lòng chụp và gửi lại.",
    "too_large": "Ảnh quá lớn. Vui lòng gửi ảnh nhỏ hơn.",
    "too_many_pixels": "Ảnh có độ phân giải quá lớn. Vui lòng gửi ảnh nhỏ hơn.",
    "unsupported": "Định dạng ảnh chưa hỗ trợ. Vui lòng gửi ảnh JPG hoặc PNG.",
    "not_image": "Tệp này không phải ảnh. Vui lòng gửi ảnh chụp giấy tờ (JPG, PNG).",
    "corrupt": "Ảnh bị lỗi, không mở được. Vui lòng chụp và gửi lại.",
}
FETCH_FAILED = "Không tải được ảnh từ máy chủ tin nhắn. Vui lòng gửi lại."
PHOTO_NOT_EXPECTED = "Tôi đã nhận ảnh nhưng bước này cần câu trả lời bằng chữ hoặc nút bấm."

# -- submission ---------------------------------------------------------------------------
PICK_PROCEDURE = "Anh/chị muốn làm thủ tục nào?"
PICK_AGENCY = "Nộp hồ sơ «{procedure}» tại cơ quan nào?"
NO_AGENCY = "Hiện chưa có cơ quan nào nhận hồ sơ «{procedure}» qua kênh này."
PROCEDURE_INTRO = (
    "Thủ tục: {name}\nThời hạn: {time}\nLệ phí: {fee}\n"
    "Anh/chị sẽ chụp {count} loại giấy tờ, lần lượt từng loại."
)
DOC_PROMPT = "Giấy tờ {i}/{n}: {name}{optional}\nDùng để: {purpose}\nHãy chụp rõ, đủ 4 góc, đủ sáng rồi gửi ảnh."
DOC_OPTIONAL = " (không bắt buộc{condition})"
DOC_MORE = "Có thể gửi thêm ảnh của giấy này (ví dụ mặt sau), hoặc bấm «Xong giấy này»."
DOC_DONE = "✅ Xong giấy này"
DOC_SKIP = "⏭ Không có, bỏ qua"
DOC_NEED_PHOTO = "Cần ít nhất một ảnh {name} trước khi sang bước sau."
PHOTO_STORED = "Đã nhận ảnh {name} ({count} ảnh)."
PHOTO_READ = "Tôi đọc được:"
PHOTO_UNREAD = "Ảnh đã được lưu; tôi chưa đọc được chữ trên ảnh, sẽ hỏi thêm vài thông tin."
PHOTO_OTHER_DOC = "Ảnh này có vẻ là {found}, tôi xếp vào mục đó."
PHOTO_WRONG_DOC = "Lưu ý: ảnh này có vẻ không phải {name}. Nếu nhầm, hãy bấm «Quay lại» và gửi lại."
DOC_TYPE_NAMES = {"id_card": "căn cước/CCCD", "birth_certificate": "giấy chứng sinh",
                  "death_notice": "giấy báo tử"}
ASK_FIELD = "{question}"
ASK_OPTIONAL = "(Không bắt buộc: bấm «Bỏ qua» nếu không có.)"
CONFIRM_READ = "Tôi đọc được {label}: «{value}». Đúng không? Nếu sai, hãy gõ lại cho đúng."
YES_RIGHT = "👍 Đúng"
SKIP = "⏭ Bỏ qua"
REVIEW = "Vui lòng kiểm tra lại tờ khai:\n{lines}\n\nNếu đúng, bấm «Nộp hồ sơ». Muốn sửa dòng nào, bấm «Sửa»."
REVIEW_DOCS = "Giấy tờ đã gửi: {docs}"
SUBMIT_CONFIRM = "✅ Nộp hồ sơ"
SUBMIT_EDIT = "✏️ Sửa"
PICK_EDIT = "Anh/chị muốn sửa thông tin nào?"
SUBMITTED = (
    "Đã nộp hồ sơ «{procedure}».\nMã hồ sơ: {code}\n"
    "Tiếp theo: cán bộ Một cửa {agency} sẽ kiểm tra hồ sơ. Anh/chị sẽ nhận tin báo ngay tại đây "
    "khi hồ sơ được tiếp nhận (kèm ngày hẹn trả) hoặc khi cần bổ sung.\n"
    "Thời hạn giải quyết: {time}\nGiữ mã hồ sơ hoặc ảnh mã QR dưới đây để tra cứu."
)
QR_CAPTION = "Mã QR tra cứu hồ sơ {code}"
BAD_DATE = "Ngày chưa đúng. Vui lòng gõ theo dạng ngày/tháng/năm, ví dụ 05/11/2026."
BAD_DATETIME = "Chưa đúng. Vui lòng gõ ngày và giờ, ví dụ 05/11/2026 08:30."
BAD_NUMBER = "Vui lòng gõ một số, ví dụ 1994."
BAD_YEAR = "Năm chưa đúng. Vui lòng gõ năm có 4 chữ số, ví dụ 1994."
BAD_ID = "Số căn cước gồm 12 chữ số. Vui lòng gõ lại."
BAD_PHONE = "Số điện thoại chưa đúng (10 số, bắt đầu bằng 0). Vui lòng gõ lại."
BAD_CHOICE = "Vui lòng bấm một trong các nút bên dưới."
BAD_TEXT = "Vui lòng gõ câu trả lời (tối đa 200 ký tự)."
FUTURE_DATE = "Ngày này ở tương lai. Vui lòng kiểm tra lại."

# -- lookup -------------------------------------------------------------------------------
ASK_CODE = "Vui lòng gõ mã hồ sơ (ví dụ 000.31.57.H57-261123-0001) hoặc gửi ảnh mã QR trên giấy hẹn."
LOOKUP_LIMITED = "Anh/chị tra cứu quá nhiều lần trong thời gian ngắn. Vui lòng thử lại sau {seconds} giây."
NOT_A_CODE = "Đây không phải mã hồ sơ. Mã có dạng 000.31.57.H57-261123-0001 (in trên giấy hẹn)."
QR_NOT_OURS = "Mã QR trong ảnh không phải mã hồ sơ Một cửa. Vui lòng gửi ảnh mã QR trên giấy hẹn, hoặc gõ mã hồ sơ."
QR_RETRY = "Hệ thống chưa đọc được ảnh lúc này. Vui lòng gửi lại ảnh sau ít phút, hoặc gõ mã hồ sơ."
QR_NONE = "Không tìm thấy mã QR trong ảnh. Vui lòng chụp gần, rõ mã QR trên giấy hẹn, hoặc gõ mã hồ sơ."
QR_UNAVAILABLE = "Hiện chưa đọc được mã QR từ ảnh. Vui lòng gõ mã hồ sơ."
VIEW_LINES = (
    ("Mã hồ sơ", "code"), ("Thủ tục", "procedure"), ("Cơ quan tiếp nhận", "agency"),
    ("Phòng xử lý", "department"), ("Tổ chức", "organisation"), ("Người nộp", "submitter"),
    ("Ngày nhận", "received_at"), ("Ngày hẹn trả", "appointment_at"), ("Trạng thái", "status_vi"),
    ("Tiến độ", "progress"),
)
VIEW_SUPPLEMENT = "Cần bổ sung:\n{items}\nGửi ảnh giấy tờ bổ sung ngay tại đây."
VIEW_REJECTED = "Lý do từ chối: {reason}"
VIEW_RATED = "Anh/chị đã đánh giá: {stars}"
VIEW_RATE = "Anh/chị vui lòng đánh giá mức độ hài lòng:"
NO_DOSSIERS = "Anh/chị chưa có hồ sơ nào."
MY_DOSSIERS = "Hồ sơ của anh/chị (mới nhất trước):\n{lines}\nBấm một mã để xem chi tiết."

# -- supplement ---------------------------------------------------------------------------
PICK_SUPPLEMENT = "Anh/chị bổ sung cho hồ sơ nào?"
SUPPLEMENT_PROMPT = (
    "Hồ sơ {code} cần bổ sung:\n{items}\n"
    "Vui lòng chụp và gửi ảnh các giấy tờ trên. Gửi xong, bấm «Gửi bổ sung»."
)
SUPPLEMENT_GOT = "Đã nhận {count} ảnh bổ sung cho hồ sơ {code}. Gửi thêm, hoặc bấm «Gửi bổ sung»."
SUPPLEMENT_SEND = "📤 Gửi bổ sung"
SUPPLEMENT_NEED_PHOTO = "Vui lòng gửi ít nhất một ảnh giấy tờ bổ sung trước khi bấm «Gửi bổ sung»."
SUPPLEMENT_DONE = "Đã gửi bổ sung cho hồ sơ {code}. Hồ sơ đã được chuyển lại cho cán bộ kiểm tra."
NO_SUPPLEMENT = "Hiện không có hồ sơ nào cần bổ sung."
PHOTO_IN_MENU = "Để nộp hồ sơ mới, anh/chị chọn «Nộp hồ sơ» trước rồi gửi ảnh theo hướng dẫn."

# -- rating -------------------------------------------------------------------------------
RATED = "Cảm ơn anh/chị đã đánh giá {stars} cho hồ sơ {code}!"

# -- officers -----------------------------------------------------------------------------
LINKED = ("Đã nhận mã liên kết với tài khoản cán bộ {name} ({role}). Liên kết đang chờ xác nhận: "
          "vui lòng vào trang quản trị, mục «Tài khoản», bấm «Xác nhận». Sau đó việc cần xử lý sẽ được gửi đến đây.")
NOT_LINKED = ("Tài khoản chat này chưa liên kết với cán bộ nào. Lấy mã trên trang quản trị (mục «Tài khoản») "
              "rồi gửi «/lienket <mã>» hoặc quét mã QR ở đó.")
OFFICER_DONE = "Đã thực hiện «{action}» hồ sơ {code}. Trạng thái mới: {status}."
OFFICER_ASK_REASON = "Hồ sơ {code}: vui lòng gõ {what} (gửi một tin nhắn)."
OFFICER_REASON_WHAT = {
    "reject": "lý do từ chối",
    "request_supplement": "các nội dung cần bổ sung, mỗi nội dung một dòng",
    "send_back_draft": "lý do không duyệt",
    "send_back_signature": "lý do không ký",
}
OFFICER_PICK_SPECIALIST = "Hồ sơ {code}: phân công cho chuyên viên nào?"
OFFICER_NO_SPECIALIST = "Phòng chưa có chuyên viên nào để phân công."
OFFICER_UNKNOWN_ACTION = "Thao tác này chưa làm được trong chat. Vui lòng dùng trang quản trị."
OFFICER_NEED_TEXT = "Vui lòng gõ nội dung bằng chữ."

# -- officer chat links ---------------------------------------------------------------------
LINK_UNCONFIRMED = ("Liên kết của tài khoản chat này chưa được xác nhận. Vui lòng vào trang quản trị, "
                    "mục «Tài khoản», bấm «Xác nhận» trước khi thao tác trong chat.")
LINK_SETTLING = "Liên kết vừa được xác nhận. Vì an toàn, vui lòng đợi một phút rồi thao tác lại."

# -- input checks (names, addresses) ---------------------------------------------------------
BAD_NAME = {
    "too_long": "Họ tên dài quá 100 ký tự. Vui lòng gõ lại họ và tên.",
    "digits": "Họ tên không được có chữ số. Vui lòng gõ lại họ và tên.",
    "symbols": "Họ tên chỉ gồm chữ cái, dấu cách, dấu gạch nối (-), dấu nháy (') và dấu chấm. Vui lòng gõ lại.",
    "too_short": "Họ tên cần ít nhất 2 chữ cái. Vui lòng gõ đầy đủ họ và tên.",
}
BAD_ADDRESS = {
    "too_long": "Địa chỉ dài quá 255 ký tự. Vui lòng gõ ngắn gọn hơn.",
    "symbols": "Địa chỉ chỉ gồm chữ, số, dấu cách và các dấu , . / - ( ) ' #. Vui lòng gõ lại.",
    "no_letters": "Địa chỉ cần có tên (chữ cái), ví dụ «Ấp Long Bình, phường Hòa Thành». Vui lòng gõ lại.",
}
