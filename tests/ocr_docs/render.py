"""Render flat documents (bản phẳng) of each type with PIL: ID card front, birth certificate,
death notice. Each renderer returns the image and the values printed on it."""

from __future__ import annotations

import datetime as dt
import math
import random
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import qrcode
from PIL import Image, ImageDraw, ImageFont

from . import values as V

# (regular, bold) pairs with full Vietnamese coverage (Debian's Liberation lacks ơ, ư, ệ…)
FAMILIES = (
    ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf"),
    ("dejavu/DejaVuSerif.ttf", "dejavu/DejaVuSerif-Bold.ttf"),
    ("dejavu/DejaVuSansCondensed.ttf", "dejavu/DejaVuSansCondensed-Bold.ttf"),
    ("noto/NotoSansDisplay-Regular.ttf", "noto/NotoSansDisplay-Bold.ttf"),
    ("noto/NotoSans-Regular.ttf", "noto/NotoSans-Bold.ttf"),
    ("noto/NotoSerif-Regular.ttf", "noto/NotoSerif-Bold.ttf"),
)
INK = (25, 25, 35)
RED = (200, 30, 35)


@dataclass
class Rendered:
    """A flat document image with the truth printed on it."""

    image: Image.Image
    doc_type: str
    truth: dict[str, object]
    qr_payload: str | None
    qr_box: tuple[int, int, int, int] | None  # where the QR is, to obscure it


@lru_cache(maxsize=64)
def font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """A cached TrueType font from the system font tree."""
    return ImageFont.truetype(f"/usr/share/fonts/truetype/{path}", size)


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def strip_accents(s: str) -> str:
    s = unicodedata.normalize("NFD", s).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in s if unicodedata.category(c) != "Mn")


class Page:
    """A drawing surface with a text cursor."""

    def __init__(self, size: tuple[int, int], bg: tuple[int, int, int], fam: tuple[str, str]):
        self.im = Image.new("RGB", size, bg)
        self.d = ImageDraw.Draw(self.im)
        self.reg, self.bold = fam

    def text(self, xy: tuple[float, float], s: str, size: int, *, bold: bool = False,
             fill: tuple[int, int, int] = INK, anchor: str = "la") -> float:
        f = font(self.bold if bold else self.reg, size)
        self.d.text(xy, nfc(s), font=f, fill=fill, anchor=anchor)
        return self.d.textlength(nfc(s), font=f)

    def width(self, s: str, size: int, *, bold: bool = False) -> float:
        return self.d.textlength(nfc(s), font=font(self.bold if bold else self.reg, size))

    def dots(self, x0: float, x1: float, y: float, size: int) -> None:
        """A dotted leader (dòng chấm) on the baseline from x0 to x1."""
        step = max(6, size // 3)
        r = max(1, size // 14)
        x = x0
        while x < x1:
            self.d.ellipse((x - r, y - r, x + r, y + r), fill=(90, 90, 100))
            x += step


def _centered(p: Page, cx: float, y: float, s: str, size: int, **kw: object) -> None:
    p.text((cx, y), s, size, anchor="ma", **kw)  # type: ignore[arg-type]


def _stamp(im: Image.Image, cx: int, cy: int, r: int, text: str, rng: random.Random) -> None:
    """A red round seal (con dấu) with text on its ring, semi-transparent."""
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    col = (210, 30, 40, 170)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=col, width=max(3, r // 18))
    d.ellipse((cx - r + r // 6, cy - r + r // 6, cx + r - r // 6, cy + r - r // 6), outline=col,
              width=max(2, r // 30))
    f = font("dejavu/DejaVuSans-Bold.ttf", max(10, r // 7))
    chars = strip_accents(text).upper()
    for i, ch in enumerate(chars):
        a = math.pi + i * (1.6 * math.pi / max(1, len(chars)))
        x, y = cx + 0.84 * r * math.cos(a), cy + 0.84 * r * math.sin(a)
        d.text((x, y), ch, font=f, fill=col, anchor="mm")
    d.regular_polygon((cx, cy, r // 4), 5, fill=col, rotation=rng.uniform(0, 70))
    im.paste(layer, (0, 0), layer)


def _signature(p: Page, x: int, y: int, rng: random.Random) -> None:
    pts = [(x + i * 12, y + rng.randint(-25, 25)) for i in range(14)]
    p.d.line(pts, fill=(30, 40, 120), width=4, joint="curve")


def _header(p: Page, x_right: float, y: int, size: int, unaccented: bool = False) -> int:
    l1, l2 = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"
    _centered(p, x_right, y, l1, size, bold=True)
    _centered(p, x_right, y + int(size * 1.4), l2, size, bold=True)
    w = p.width(l2, size, bold=True)
    yy = y + int(size * 2.7)
    p.d.line((x_right - w / 2, yy, x_right + w / 2, yy), fill=INK, width=2)
    return yy + size


def _fmt(d: dt.date) -> str:
    return d.strftime("%d/%m/%Y")


# ------------------------------------------------------------------ ID card (CCCD)

def _card_background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Light guilloche background (hoa văn) of the card."""
    w, h = size
    base = Image.new("RGB", size, (236, 240, 236))
    d = ImageDraw.Draw(base)
    top, bot = (232, 238, 245), (245, 236, 222)
    for yy in range(h):
        t = yy / h
        d.line((0, yy, w, yy), fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bot, strict=True)))
    col = (rng.randint(180, 215), rng.randint(200, 225), rng.randint(200, 230))
    for k in range(22):
        amp, per, ph = rng.uniform(10, 40), rng.uniform(150, 400), rng.uniform(0, 6.28)
        y0 = k * h / 22
        pts = [(x, y0 + amp * math.sin(x / per * 6.28 + ph)) for x in range(0, w + 10, 10)]
        d.line(pts, fill=col, width=2)
    # faint drum emblem watermark
    cx, cy = int(w * 0.62), int(h * 0.6)
    for r in range(60, 300, 24):
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(222, 215, 205), width=2)
    return base


def render_id_card(rng: random.Random, layout: str) -> Rendered:
    """Front of the 2021 chip card (QR on front) or of the 2016 card (no QR)."""
    sex = rng.choice(("Nam", "Nữ"))
    name = V.person_name(rng, sex)
    born = V.birth_date(rng, 1965, 2004)
    issued = V.birth_date(rng, 2021, 2024)
    if layout == "cccd2016":
        issued = V.birth_date(rng, 2016, 2020)
    expiry = V.card_expiry(born, issued)
    while expiry is None or expiry < dt.date(2026, 1, 1):
        born = V.birth_date(rng, 1972, 2004)
        expiry = V.card_expiry(born, issued)
    idn = V.id_number(rng, born, sex)
    origin = V.origin(rng)
    residence = V.address(rng, new=rng.random() < 0.3)
    truth: dict[str, object] = {
        "id_number": idn, "full_name": name, "date_of_birth": born.isoformat(), "sex": sex,
        "nationality": "Việt Nam", "place_of_origin": origin, "place_of_residence": residence,
        "date_of_expiry": expiry.isoformat(),
    }
    W, H = 1712, 1080
    fam = rng.choice(FAMILIES)
    p = Page((W, H), (255, 255, 255), fam)
    p.im.paste(_card_background((W, H), rng))
    english = layout == "chip2021"
    # emblem
    p.d.ellipse((50, 40, 250, 240), fill=(205, 40, 40), outline=(230, 190, 60), width=8)
    p.d.regular_polygon((150, 140, 60), 5, fill=(245, 205, 50), rotation=-90 + 36 * 0)
    cx = W / 2 + 60
    _centered(p, cx, 40, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 40, bold=True)
    _centered(p, cx, 92, "Độc lập - Tự do - Hạnh phúc", 38, bold=True)
    y = 140
    if english:
        _centered(p, cx, 140, "SOCIALIST REPUBLIC OF VIET NAM", 28)
        _centered(p, cx, 176, "Independence - Freedom - Happiness", 28)
        y = 215
    _centered(p, cx, y, "CĂN CƯỚC CÔNG DÂN", 58, bold=True, fill=RED)
    y += 70
    if english:
        _centered(p, cx, y, "Citizen Identity Card", 34, bold=True)
        y += 48
    qr_box = None
    payload = None
    if layout == "chip2021":
        payload = "|".join([idn, V.old_id_number(rng), name, born.strftime("%d%m%Y"), sex,
                            residence, issued.strftime("%d%m%Y")])
        q = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=6)
        q.add_data(payload.encode("utf-8"))
        q.make(fit=True)
        qim = q.make_image(fill_color="black", back_color="white").convert("RGB").resize(
            (290, 290), Image.NEAREST)
        qr_box = (W - 340, 40, W - 50, 330)
        p.im.paste(qim, qr_box[:2])
    # photo
    px, py = 50, 400
    p.d.rectangle((px, py, px + 320, py + 420), fill=(200, 205, 215))
    p.d.ellipse((px + 90, py + 70, px + 230, py + 230), fill=(150, 130, 120))
    p.d.chord((px + 40, py + 250, px + 280, py + 520), 180, 360, fill=(60, 70, 90))
    lab, val = 30, 42
    x = 420
    y = max(y + 10, 380)

    def label(s_vi: str, s_en: str) -> str:
        return f"{s_vi} / {s_en}:" if english else f"{s_vi}:"

    # ID number
    w = p.text((x, y + 10), label("Số", "No."), lab)
    p.text((x + w + 20, y), idn, 54, bold=True, fill=(20, 20, 20))
    y += 80
    p.text((x, y), label("Họ và tên", "Full name"), lab)
    y += 42
    p.text((x + 20, y), name.upper(), 48, bold=True)
    y += 72
    w = p.text((x, y + 8), label("Ngày sinh", "Date of birth") if english
               else "Ngày, tháng, năm sinh:", lab)
    p.text((x + w + 16, y), _fmt(born), val)
    y += 58
    w = p.text((x, y + 8), label("Giới tính", "Sex"), lab)
    p.text((x + w + 16, y), sex, val)
    x2 = x + 560
    w = p.text((x2, y + 8), label("Quốc tịch", "Nationality"), lab)
    p.text((x2 + w + 16, y), "Việt Nam", val)
    y += 58
    p.text((x, y), label("Quê quán", "Place of origin"), lab)
    y += 40
    p.text((x + 20, y), origin, val)
    y += 58
    w = p.text((x, y), label("Nơi thường trú", "Place of residence"), lab)
    first, rest = _split_address(residence, p, val, W - 60 - (x + w + 20))
    if first:
        p.text((x + w + 20, y - 6), first, val)
    y += 44
    p.text((x + 20, y), rest, val)
    # expiry under the photo
    ey = py + 440
    if english:
        p.text((px, ey), "Có giá trị đến:", 26)
        p.text((px, ey + 32), "Date of expiry", 26)
        p.text((px + 10, ey + 66), _fmt(expiry), 34)
    else:
        p.text((px, ey), "Có giá trị đến:", 28)
        p.text((px + 10, ey + 40), _fmt(expiry), 32)
    return Rendered(p.im, "id_card", truth, payload, qr_box)


def _split_address(addr: str, p: Page, size: int, room: float) -> tuple[str, str]:
    """Card printing: as many leading address parts as fit on the label line, rest below."""
    parts = addr.split(", ")
    for k in range(len(parts) - 1, 0, -1):
        head = ", ".join(parts[:k]) + ","
        if p.width(head, size) <= room:
            return head, ", ".join(parts[k:])
    return "", addr


# ------------------------------------------------------------------ forms (A5)

def _form_lines(p: Page, items: list[tuple[str, str]], x0: int, x1: int, y: int, size: int,
                vsize: int, bold_values: bool, rng: random.Random) -> int:
    """Label + value rows with dotted leaders, wrapping long values onto dotted lines."""
    lh = int(size * 2.1)
    for lab, value in items:
        if lab.startswith("\t"):  # same row as the previous item, at the middle
            xs, lab = (x0 + x1) // 2 + 20, lab[1:]
            y -= lh
        else:
            xs = x0
        w = p.text((xs, y), lab, size)
        vx = xs + w + size // 2 + rng.randint(0, 3) * 6
        words = value.split(" ")
        line = ""
        cur_x = vx
        rows: list[tuple[float, str]] = []
        for word in words:
            cand = (line + " " + word).strip()
            if p.width(cand, vsize, bold=bold_values) > x1 - cur_x and line:
                rows.append((cur_x, line))
                line, cur_x = word, x0
            else:
                line = cand
        rows.append((cur_x, line))
        for i, (rx, text) in enumerate(rows):
            yy = y + i * lh
            p.dots(xs + w + 6 if i == 0 else x0, rx - 6, yy + size, size)
            tw = p.text((rx, yy + size - vsize), text, vsize, bold=bold_values) if text else 0
            end = x1 if not (lab and i == 0 and xs == x0 and _has_pair(items, lab)) else \
                (x0 + x1) // 2
            p.dots(rx + tw + 10, end, yy + size, size)
        y += lh * len(rows)
    return y


def _has_pair(items: list[tuple[str, str]], lab: str) -> bool:
    labs = [a for a, _ in items]
    i = labs.index(lab)
    return i + 1 < len(labs) and labs[i + 1].startswith("\t")


def _unaccent_labels(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(strip_accents(a), b) for a, b in items]


def _when(t: dt.datetime) -> str:
    return (f"{t.hour:02d} giờ {t.minute:02d} phút, ngày {t.day:02d} tháng {t.month:02d}"
            f" năm {t.year}")


def _facility(rng: random.Random) -> str:
    old, new = V.tay_ninh_units()
    district = rng.choice(sorted({u.district for u in old if u.district}))
    commune = rng.choice(new).commune
    return rng.choice([
        "Bệnh viện Đa khoa tỉnh Tây Ninh",
        "Trung tâm Y tế " + district.replace("Huyện", "huyện").replace("Thị xã", "thị xã")
        .replace("Thành phố", "thành phố"),
        "Trạm Y tế " + commune.replace("Xã", "xã").replace("Phường", "phường"),
        "Bệnh viện Đa khoa Xuyên Á Tây Ninh",
    ])


def render_birth_certificate(rng: random.Random, layout: str) -> Rendered:
    """Giấy chứng sinh: old form (before 1/10/2025), new form, or unaccented labels."""
    mother = V.person_name(rng, "Nữ")
    mborn = V.birth_date(rng, 1980, 2005)
    born_at = dt.datetime.combine(V.birth_date(rng, 2025, 2025),
                                  dt.time(rng.randint(0, 23), rng.randint(0, 59)))
    csex = rng.choice(("Nam", "Nữ"))
    child = V.person_name(rng, csex)
    child = mother.split(" ")[0] + " " + " ".join(child.split(" ")[1:]) if rng.random() < 0.3 \
        else child
    truth: dict[str, object] = {
        "mother_name": mother, "mother_birth_year": mborn.year,
        "mother_id_number": V.id_number(rng, mborn, "Nữ"),
        "mother_residence": V.address(rng), "ethnicity": rng.choice(V.ETHNICITIES),
        "child_birth_datetime": born_at.strftime("%Y-%m-%dT%H:%M"),
        "birth_place": _facility(rng), "child_count": rng.choice((1, 1, 1, 1, 2)),
        "child_sex": csex, "child_weight_grams": rng.randrange(2400, 4200, 50),
        "child_intended_name": child,
    }
    fam = rng.choice(FAMILIES)
    W, H = 1480, 2100
    p = Page((W, H), (252, 251, 247), fam)
    size, vsize = 30, 32
    upper = rng.random() < 0.5
    bold_values = rng.random() < 0.5
    t = truth
    weight = f"{t['child_weight_grams']:,}".replace(",", ".") + " gam" if rng.random() < 0.5 \
        else f"{t['child_weight_grams']} gram"
    if layout == "new2025":
        items = [
            ("Họ, chữ đệm, tên của mẹ:", _case(str(t["mother_name"]), upper)),
            ("Năm sinh:", str(t["mother_birth_year"])),
            ("\tDân tộc:", str(t["ethnicity"])),
            ("Số định danh cá nhân:", str(t["mother_id_number"])),
            ("Nơi cư trú:", str(t["mother_residence"])),
            ("Sinh con vào lúc:", _when(born_at)),
            ("Nơi sinh:", str(t["birth_place"])),
            ("Số con trong lần sinh:", f"{t['child_count']:02d}"),
            ("\tGiới tính:", csex),
            ("Cân nặng:", weight),
            ("Dự kiến đặt tên con:", _case(child, upper)),
        ]
    else:
        items = [
            ("Họ và tên mẹ/Người nuôi dưỡng:", _case(str(t["mother_name"]), upper)),
            ("Năm sinh:", str(t["mother_birth_year"])),
            ("Số CMND/CCCD/Hộ chiếu:", str(t["mother_id_number"])),
            ("Nơi đăng ký thường trú/tạm trú:", str(t["mother_residence"])),
            ("Dân tộc:", str(t["ethnicity"])),
            ("Đã sinh con vào lúc:", _when(born_at)),
            ("Tại:", str(t["birth_place"])),
            ("Số con trong lần sinh:", f"{t['child_count']:02d}"),
            ("Giới tính của con:", csex),
            ("\tCân nặng:", weight),
            ("Dự định đặt tên con là:", _case(child, upper)),
        ]
    if layout == "plain":
        items = _unaccent_labels(items)
    y = _form_head(p, rng, W, "GIẤY CHỨNG SINH", "GCS", str(t["birth_place"]))
    y = _form_lines(p, items, 90, W - 90, y, size, vsize, bold_values, rng)
    _form_foot(p, rng, W, y + 40, born_at.date(), "Người đỡ đẻ", "Thủ trưởng cơ sở")
    return Rendered(p.im, "birth_certificate", truth, None, None)


def _case(name: str, upper: bool) -> str:
    return name.upper() if upper else name


def _form_head(p: Page, rng: random.Random, W: int, title: str, code: str, place: str) -> int:
    left_x = 300
    _centered(p, left_x, 70, "SỞ Y TẾ TÂY NINH", 26)
    org = place.upper() if len(place) < 34 else "BỆNH VIỆN ĐA KHOA"
    _centered(p, left_x, 108, org, 22, bold=True)
    _centered(p, left_x, 150, f"Số: {rng.randint(1, 999)}/{code}", 24)
    _header(p, W - 400, 70, 26)
    _centered(p, W / 2, 250, title, 56, bold=True)
    return 360


def _form_foot(p: Page, rng: random.Random, W: int, y: int, day: dt.date, left: str,
               right: str) -> None:
    p.text((W - 640, y), f"Tây Ninh, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}",
           26)
    y += 50
    _centered(p, 330, y, left, 28, bold=True)
    _centered(p, W - 360, y, right, 28, bold=True)
    _centered(p, 330, y + 38, "(Ký, ghi rõ họ tên)", 24)
    _centered(p, W - 360, y + 38, "(Ký, đóng dấu)", 24)
    _signature(p, 250, y + 150, rng)
    _signature(p, W - 440, y + 150, rng)
    _stamp(p.im, W - 430 + rng.randint(-30, 30), y + 150, 120, "BENH VIEN DA KHOA TAY NINH",
           rng)
    _centered(p, 330, y + 250, V.person_name(rng, rng.choice(("Nam", "Nữ"))), 28)
    _centered(p, W - 360, y + 250, V.person_name(rng, rng.choice(("Nam", "Nữ"))), 28)


def render_death_notice(rng: random.Random, layout: str) -> Rendered:
    """Giấy báo tử of a hospital or a commune, with or without label diacritics."""
    sex = rng.choice(("Nam", "Nữ"))
    born = V.birth_date(rng, 1930, 1990)
    died = dt.datetime.combine(V.birth_date(rng, 2024, 2025),
                               dt.time(rng.randint(0, 23), rng.randint(0, 59)))
    residence = V.address(rng)
    at_home = rng.random() < 0.4
    place = "Tại nhà, " + residence if at_home else _facility(rng)
    truth: dict[str, object] = {
        "full_name": V.person_name(rng, sex), "sex": sex, "date_of_birth": born.isoformat(),
        "ethnicity": rng.choice(V.ETHNICITIES), "nationality": "Việt Nam",
        "id_number": V.id_number(rng, born, sex), "place_of_residence": residence,
        "death_datetime": died.strftime("%Y-%m-%dT%H:%M"), "death_place": place,
        "cause_of_death": rng.choice(V.CAUSES),
    }
    t = truth
    upper = rng.random() < 0.5
    items = [
        ("Họ, chữ đệm, tên:" if layout != "hospital" else "Họ và tên người chết:",
         _case(str(t["full_name"]), upper)),
        ("Giới tính:", sex),
        ("\tNgày, tháng, năm sinh:", _fmt(born)),
        ("Dân tộc:", str(t["ethnicity"])),
        ("\tQuốc tịch:", "Việt Nam"),
        ("Số định danh cá nhân:" if layout != "hospital" else "Số CMND/CCCD:", str(t["id_number"])),
        ("Nơi cư trú:" if layout != "hospital" else "Nơi thường trú/tạm trú:", residence),
        ("Đã chết vào lúc:", _when(died)),
        ("Nơi chết:", place),
        ("Nguyên nhân chết:", str(t["cause_of_death"])),
    ]
    if layout == "plain":
        items = _unaccent_labels(items)
    fam = rng.choice(FAMILIES)
    W, H = 1480, 2100
    p = Page((W, H), (252, 251, 247), fam)
    y = _form_head(p, rng, W, "GIẤY BÁO TỬ", "GBT", "Bệnh viện Đa khoa tỉnh Tây Ninh")
    y = _form_lines(p, items, 90, W - 90, y, 30, 32, rng.random() < 0.5, rng)
    _form_foot(p, rng, W, y + 40, died.date(), "Người lập", "Thủ trưởng đơn vị")
    return Rendered(p.im, "death_notice", truth, None, None)
