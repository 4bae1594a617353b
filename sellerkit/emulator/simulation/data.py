"""Seeded generators for the simulation: marketplaces, sellers, products, listings, inventory
and orders.

Everything here is a pure function of a ``random.Random`` (seeded by the caller from the
simulation seed and a purpose string) and an anchor time, and returns plain JSON-able dicts, so
the state can be dumped and loaded without custom encoders. Names, brands and addresses are
invented; no real person or company is described.
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime
from typing import Any

from sellerkit.regions import get_marketplace

DAY = 86400.0

# id -> facts the Sellers API reports, plus the currency factor used to price a listing there.
# Each marketplace's region comes from sellerkit.regions (region_of), not from a second table.
MARKETPLACES: dict[str, dict[str, Any]] = {
    "ATVPDKIKX0DER": {"countryCode": "US", "name": "Amazon.com", "currency": "USD",
                      "language": "en_US", "domain": "www.amazon.com",
                      "fx": 1.0, "prefixes": ("111", "112", "113", "114")},
    "A2EUQ1WTGCTBG2": {"countryCode": "CA", "name": "Amazon.ca", "currency": "CAD",
                       "language": "en_CA", "domain": "www.amazon.ca",
                       "fx": 1.36, "prefixes": ("701", "702")},
    "A1AM78C64UM0Y8": {"countryCode": "MX", "name": "Amazon.com.mx", "currency": "MXN",
                       "language": "es_MX", "domain": "www.amazon.com.mx",
                       "fx": 17.0, "prefixes": ("701", "702")},
    "A2Q3Y263D00KWC": {"countryCode": "BR", "name": "Amazon.com.br", "currency": "BRL",
                       "language": "pt_BR", "domain": "www.amazon.com.br",
                       "fx": 5.0, "prefixes": ("701", "702")},
    "A1F83G8C2ARO7P": {"countryCode": "GB", "name": "Amazon.co.uk", "currency": "GBP",
                       "language": "en_GB", "domain": "www.amazon.co.uk",
                       "fx": 0.79, "prefixes": ("202", "203", "204", "205")},
    "A1PA6795UKMFR9": {"countryCode": "DE", "name": "Amazon.de", "currency": "EUR",
                       "language": "de_DE", "domain": "www.amazon.de",
                       "fx": 0.92, "prefixes": ("302", "303", "304", "305")},
    "A13V1IB3VIYZZH": {"countryCode": "FR", "name": "Amazon.fr", "currency": "EUR",
                       "language": "fr_FR", "domain": "www.amazon.fr",
                       "fx": 0.92, "prefixes": ("402", "403", "404", "405")},
    "APJ6JRA9NG5V4": {"countryCode": "IT", "name": "Amazon.it", "currency": "EUR",
                      "language": "it_IT", "domain": "www.amazon.it",
                      "fx": 0.92, "prefixes": ("402", "403", "404", "405")},
    "A1RKKUPIHCS9HS": {"countryCode": "ES", "name": "Amazon.es", "currency": "EUR",
                       "language": "es_ES", "domain": "www.amazon.es",
                       "fx": 0.92, "prefixes": ("402", "403", "404", "405")},
    "A1VC38T7YXB528": {"countryCode": "JP", "name": "Amazon.co.jp", "currency": "JPY",
                       "language": "ja_JP", "domain": "www.amazon.co.jp",
                       "fx": 150.0, "prefixes": ("249", "250", "503")},
    "A39IBJ37TRP1C6": {"countryCode": "AU", "name": "Amazon.com.au", "currency": "AUD",
                       "language": "en_AU", "domain": "www.amazon.com.au",
                       "fx": 1.52, "prefixes": ("249", "250", "503")},
}
US = "ATVPDKIKX0DER"


def region_of(marketplace_id: str) -> str:
    """NA, EU or FE, from the project's one table of marketplaces."""
    return get_marketplace(marketplace_id).region
_REGION_SETS = {
    "NA": ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC"],
    "EU": ["A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4",
           "A1RKKUPIHCS9HS"],
    "FE": ["A1VC38T7YXB528", "A39IBJ37TRP1C6"],
}
AFN_CHANNEL = {"NA": "AMAZON_NA", "EU": "AMAZON_EU", "FE": "AMAZON_FE"}

# (productType, browse node id, display group, nouns)
_CATEGORIES = [
    ("KITCHEN", "289814", "kitchen_display_on_website",
     ["Chef Knife", "Cutting Board", "Mixing Bowl Set", "French Press", "Spatula Set",
      "Measuring Cups"]),
    ("HOME", "1063498", "home_display_on_website",
     ["Throw Blanket", "Scented Candle", "Picture Frame", "Storage Basket", "Wall Clock"]),
    ("SPORTING_GOODS", "3407731", "sports_display_on_website",
     ["Yoga Mat", "Resistance Bands", "Water Bottle", "Jump Rope", "Foam Roller"]),
    ("PET_SUPPLIES", "2975312011", "pet_products_display_on_website",
     ["Dog Leash", "Cat Scratcher", "Pet Bowl", "Chew Toy", "Grooming Brush"]),
    ("OFFICE_PRODUCTS", "1069242", "office_product_display_on_website",
     ["Spiral Notebook", "Desk Organizer", "Gel Pens", "Sticky Notes", "Monitor Stand"]),
]
_ADJECTIVES = ["Classic", "Premium", "Eco", "Compact", "Deluxe", "Everyday", "Pro", "Ultra",
               "Essential", "Lightweight"]
_COLORS = ["Black", "White", "Blue", "Green", "Grey", "Red", "Natural", "Navy"]
_BRAND_A = ["North", "Blue", "Iron", "Maple", "Silver", "Bright", "Stone", "River", "Cedar",
            "Sun"]
_BRAND_B = ["wind", "leaf", "forge", "craft", "line", "field", "works", "nest", "peak", "wave"]
_FIRST = ["Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
          "Drew", "Sam", "Robin", "Kai", "Noa", "Lee", "Emery"]
_LAST = ["Smith", "Garcia", "Nguyen", "Martin", "Brown", "Lopez", "Walker", "Young", "King",
         "Wright", "Hill", "Green", "Baker", "Adams", "Turner", "Parker"]
_STREETS = ["Main St", "Oak Ave", "Pine Rd", "Maple Dr", "Cedar Ln", "Elm St", "Lake View Rd",
            "Park Blvd"]
# per country: (city, state/region, postal code pattern with # for a digit)
_CITIES: dict[str, list[tuple[str, str, str]]] = {
    "US": [("Seattle", "WA", "981##"), ("Austin", "TX", "787##"), ("Denver", "CO", "802##"),
           ("Columbus", "OH", "432##"), ("Portland", "OR", "972##"), ("Raleigh", "NC", "276##")],
    "CA": [("Toronto", "ON", "M5V #A#"), ("Vancouver", "BC", "V6B #C#"),
           ("Calgary", "AB", "T2P #B#")],
    "MX": [("Guadalajara", "JAL", "44###"), ("Monterrey", "NL", "64###"),
           ("Puebla", "PUE", "72###")],
    "BR": [("Curitiba", "PR", "80###-###"), ("Recife", "PE", "50###-###")],
    "GB": [("Leeds", "West Yorkshire", "LS# #AB"), ("Bristol", "Bristol", "BS# #CD")],
    "DE": [("Leipzig", "Sachsen", "04###"), ("Bremen", "Bremen", "28###")],
    "FR": [("Lyon", "Rhone", "69###"), ("Nantes", "Loire-Atlantique", "44###")],
    "IT": [("Torino", "TO", "10###"), ("Bologna", "BO", "40###")],
    "ES": [("Valencia", "Valencia", "46###"), ("Sevilla", "Sevilla", "41###")],
    "JP": [("Sapporo", "Hokkaido", "060-####"), ("Fukuoka", "Fukuoka", "810-####")],
    "AU": [("Brisbane", "QLD", "40##"), ("Perth", "WA", "60##")],
}
_CARRIERS = {"NA": ["UPS", "USPS", "FedEx"], "EU": ["DHL", "Royal Mail", "DPD"],
             "FE": ["Yamato", "Australia Post"]}

_ALNUM = string.ascii_uppercase + string.digits
_DIAL = {"US": "+1", "CA": "+1", "MX": "+52", "BR": "+55", "GB": "+44", "DE": "+49",
         "FR": "+33", "IT": "+39", "ES": "+34", "JP": "+81", "AU": "+61"}


def iso(ts: float) -> str:
    """ISO 8601 UTC with a ``Z``, the form the v0 APIs use."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_offset(ts: float) -> str:
    """ISO 8601 UTC with ``+00:00``, the form flat-file reports use."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_time(value: Any) -> float:
    """Seconds since the epoch from an ISO 8601 string (``Z``, offset, or naive = UTC) or a
    datetime; raises ValueError otherwise."""
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def money(amount: float, currency: str) -> str:
    return f"{amount:.0f}" if currency == "JPY" else f"{amount:.2f}"


def _code(rng: random.Random, n: int, alphabet: str = _ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _upc(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(11)]
    odd = sum(digits[0::2]) * 3 + sum(digits[1::2])
    return "".join(map(str, digits)) + str((10 - odd % 10) % 10)


def _postal(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randrange(10)) if c == "#" else c for c in pattern)


def uuid_from(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


# sellers ----------------------------------------------------------------------------------


def seller(rng: random.Random, index: int) -> dict[str, Any]:
    """Seller 0 sells in US, CA and MX; the others get a seeded region and marketplaces."""
    if index == 0:
        mps = ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"]
    else:
        region = rng.choice(["NA", "NA", "EU", "FE"])
        pool = _REGION_SETS[region]
        mps = [pool[0]] + [m for m in pool[1:] if rng.random() < 0.5]
    name = f"{rng.choice(_BRAND_A)}{rng.choice(_BRAND_B)} {rng.choice(['Goods', 'Supply', 'Trading', 'Co'])}"
    country = MARKETPLACES[mps[0]]["countryCode"]
    city, state, pattern = rng.choice(_CITIES[country])
    return {
        "id": f"A2SIMSELLER{index + 1:04d}",
        "storeName": name,
        "marketplaces": mps,
        "suspended": [],
        "address": {"addressLine1": f"{rng.randrange(10, 9999)} {rng.choice(_STREETS)}",
                    "city": city, "stateOrProvinceCode": state,
                    "postalCode": _postal(rng, pattern), "countryCode": country},
        "contact": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        "businessType": rng.choice(["PRIVATE_LIMITED", "SOLE_PROPRIETORSHIP"]),
    }


# catalog ----------------------------------------------------------------------------------


def products(rng: random.Random, count: int) -> dict[str, dict[str, Any]]:
    """The shared catalog, by ASIN."""
    brands = sorted({f"{rng.choice(_BRAND_A)}{rng.choice(_BRAND_B)}" for _ in range(8)})
    out: dict[str, dict[str, Any]] = {}
    while len(out) < count:
        ptype, node, group, nouns = rng.choice(_CATEGORIES)
        asin = "B0" + _code(rng, 8)
        if asin in out:
            continue
        brand = rng.choice(brands)
        noun = rng.choice(nouns)
        color = rng.choice(_COLORS)
        title = f"{brand} {rng.choice(_ADJECTIVES)} {noun}, {color}"
        out[asin] = product_record(
            asin=asin, title=title, brand=brand, product_type=ptype, browse_node=node,
            display_group=group, color=color, upc=_upc(rng),
            model=f"{brand[:3].upper()}-{rng.randrange(100, 999)}",
            price=rng.randrange(7, 80) + 0.99,
            weight=round(rng.uniform(0.2, 6.0), 2), rank=rng.randrange(500, 250000),
            release=f"{rng.randrange(2018, 2026)}-{rng.randrange(1, 13):02d}-"
                    f"{rng.randrange(1, 29):02d}")
    return out


def product_record(*, asin: str, title: str, brand: str, product_type: str, browse_node: str,
                   display_group: str, color: str, upc: str, model: str, price: float,
                   weight: float, rank: int, release: str) -> dict[str, Any]:
    return {"asin": asin, "title": title, "brand": brand, "productType": product_type,
            "browseNode": browse_node, "displayGroup": display_group, "color": color,
            "upc": upc, "model": model, "listPrice": round(price, 2), "weight": weight,
            "rank": rank, "releaseDate": release,
            "image": f"https://m.media-amazon.example/images/I/{asin}.jpg"}


def new_product(asin_rng: random.Random, title: str, brand: str, product_type: str,
                release: str) -> dict[str, Any]:
    """A catalog entry created by a listing submission for a product Amazon did not know."""
    asin = "B0" + _code(asin_rng, 8)
    return product_record(asin=asin, title=title, brand=brand or "Generic",
                          product_type=product_type, browse_node="0",
                          display_group="home_display_on_website", color="",
                          upc=_upc(asin_rng), model="", price=0.0, weight=0.5,
                          rank=999999, release=release)


# listings and inventory -------------------------------------------------------------------


def listing_attributes(*, title: str, brand: str, asin: str, marketplaces: list[str],
                       prices: dict[str, float], afn: bool, quantity: int,
                       description: str) -> dict[str, Any]:
    """Attributes in the shape the Listings Items API and JSON_LISTINGS_FEED use."""
    first = marketplaces[0]
    lang = MARKETPLACES[first]["language"]
    region = region_of(first)
    attrs: dict[str, Any] = {
        "item_name": [{"value": title, "language_tag": lang, "marketplace_id": first}],
        "brand": [{"value": brand, "language_tag": lang, "marketplace_id": first}],
        "product_description": [{"value": description, "language_tag": lang,
                                 "marketplace_id": first}],
        "condition_type": [{"value": "new_new", "marketplace_id": first}],
        "merchant_suggested_asin": [{"value": asin, "marketplace_id": first}],
        "purchasable_offer": [
            {"marketplace_id": mp, "currency": MARKETPLACES[mp]["currency"],
             "our_price": [{"schedule": [{"value_with_tax": prices[mp]}]}]}
            for mp in marketplaces],
        "fulfillment_availability": [
            {"fulfillment_channel_code": AFN_CHANNEL[region]} if afn else
            {"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
    }
    return attrs


def listings(rng: random.Random, seller_rec: dict[str, Any], catalog: dict[str, Any],
             anchor: float) -> dict[str, dict[str, Any]]:
    """A seller's listings by SKU; about 40% are fulfilled by Amazon."""
    asins = sorted(catalog)
    count = min(len(asins), rng.randrange(18, 30))
    chosen = rng.sample(asins, count)
    out: dict[str, dict[str, Any]] = {}
    for asin in chosen:
        p = catalog[asin]
        afn = rng.random() < 0.4
        sku = f"{p['brand'][:3].upper()}-{p['productType'][:3]}-{rng.randrange(1000, 9999)}"
        if afn:
            sku += "-FBA"
        mps = list(seller_rec["marketplaces"])
        prices = {mp: round(p["listPrice"] * rng.uniform(0.9, 1.15) * MARKETPLACES[mp]["fx"],
                            0 if MARKETPLACES[mp]["currency"] == "JPY" else 2)
                  for mp in mps}
        created = anchor - rng.uniform(40, 700) * DAY
        out[sku] = {
            "sku": sku,
            "asin": asin,
            "productType": p["productType"],
            "listingId": f"{rng.randrange(1000, 1299)}{_code(rng, 7)}",
            "created": created,
            "updated": created + rng.uniform(0, 30) * DAY,
            "fnsku": ("X00" + _code(rng, 7)) if afn else None,
            "attributes": listing_attributes(
                title=p["title"], brand=p["brand"], asin=asin, marketplaces=mps, prices=prices,
                afn=afn, quantity=rng.choice([0, 3, 8, 12, 25, 40, 60]),
                description=f"{p['title']}. Made to last, easy to clean."),
        }
        if afn:
            out[sku]["inventory"] = {
                "fulfillable": rng.choice([0, 4, 15, 32, 80, 120]),
                "inboundWorking": rng.choice([0, 0, 10]),
                "inboundShipped": rng.choice([0, 0, 24]),
                "inboundReceiving": rng.choice([0, 0, 6]),
                "fcProcessing": rng.choice([0, 1, 2]),
                "transshipment": rng.choice([0, 0, 3]),
                "researching": rng.choice([0, 0, 1]),
                "customerDamaged": rng.choice([0, 0, 1]),
                "warehouseDamaged": rng.choice([0, 0, 0, 2]),
                "defective": rng.choice([0, 0, 1]),
                "updated": anchor - rng.uniform(0, 5) * DAY,
            }
    return out


# orders -----------------------------------------------------------------------------------


def person(rng: random.Random, country: str) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    city, state, pattern = rng.choice(_CITIES[country])
    return {
        "name": f"{first} {last}",
        "email": f"{_code(rng, 12, string.ascii_lowercase + string.digits)}"
                 "@marketplace.amazon.example",
        "line1": f"{rng.randrange(1, 9999)} {rng.choice(_STREETS)}",
        "line2": rng.choice(["", "", f"Apt {rng.randrange(1, 400)}"]),
        "city": city, "state": state, "postal": _postal(rng, pattern), "country": country,
        "phone": f"{_DIAL.get(country, '+1')} {rng.randrange(200, 999)} 555 "
                 f"{rng.randrange(1000, 9999)}",
        "addressType": rng.choice(["Residential", "Residential", "Commercial"]),
    }


def orders(rng: random.Random, seller_rec: dict[str, Any], seller_listings: dict[str, Any],
           catalog: dict[str, Any], count: int, anchor: float, *,
           window: tuple[float, float] | None = None,
           taken: set[str] | frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """``count`` orders created over the 30 days before ``anchor``, about a tenth in the last
    two hours so their status visibly moves (Pending -> Unshipped -> Shipped) as time passes;
    or, with ``window``, spread over that interval (orders that arrive later). ``taken`` holds
    order ids already in use."""
    skus = sorted(seller_listings)
    out: list[dict[str, Any]] = []
    if not skus:
        return out
    seen: set[str] = set(taken)
    for _ in range(count):
        if window is not None:
            created = rng.uniform(*window)
        elif rng.random() < 0.1:
            created = anchor - rng.uniform(0, 2 * 3600)
        else:
            created = anchor - rng.uniform(0, 30 * DAY)
        created = float(int(created))
        mp = rng.choice(seller_rec["marketplaces"])
        info = MARKETPLACES[mp]
        order_id = ""
        while not order_id or order_id in seen:
            order_id = (f"{rng.choice(info['prefixes'])}-{rng.randrange(10**6, 10**7)}-"
                        f"{rng.randrange(10**6, 10**7)}")
        seen.add(order_id)
        n_items = rng.choice([1, 1, 1, 2, 2, 3])
        picks = rng.sample(skus, min(n_items, len(skus)))
        afn = all(seller_listings[s]["fnsku"] for s in picks[:1])
        if afn:
            picks = [s for s in picks if seller_listings[s]["fnsku"]] or picks[:1]
        else:
            picks = [s for s in picks if not seller_listings[s]["fnsku"]] or picks[:1]
        currency = info["currency"]
        items = []
        for sku in picks:
            lst = seller_listings[sku]
            price = _offer_price(lst, mp) or catalog[lst["asin"]]["listPrice"] * info["fx"]
            qty = rng.choice([1, 1, 1, 2, 3])
            items.append({
                "id": f"{rng.randrange(10**13, 10**14)}",
                "sku": sku, "asin": lst["asin"], "title": catalog[lst["asin"]]["title"],
                "qty": qty, "unit": round(price, 2),
                "tax": round(price * qty * (0.0825 if info["countryCode"] == "US" else 0.0), 2),
                "shipping": 0.0 if afn else round(rng.choice([0.0, 0.0, 4.99]) * info["fx"], 2),
                "gift": rng.random() < 0.05,
            })
        pending = rng.uniform(5 * 60, 20 * 60)
        canceled = rng.random() < 0.04
        stuck = (not afn) and rng.random() < 0.12
        region = region_of(mp)
        rec = {
            "id": order_id,
            "sellerOrderId": order_id if rng.random() < 0.8 else f"SO-{rng.randrange(10**6, 10**7)}",
            "marketplaceId": mp,
            "created": created,
            "unshipped": None if canceled else created + pending,
            "shipped": None if (canceled or stuck) else (
                created + pending + rng.uniform(1, 24 if afn else 36) * 3600),
            "canceled": created + pending / 2 if canceled else None,
            "channel": "AFN" if afn else "MFN",
            "serviceLevel": rng.choice(["Standard", "Standard", "Expedited"]),
            "prime": afn and rng.random() < 0.7,
            "business": rng.random() < 0.1,
            "currency": currency,
            "buyer": person(rng, info["countryCode"]),
            "items": items,
            "carrier": rng.choice(_CARRIERS[region]),
            "tracking": "1Z" + _code(rng, 16) if not afn else None,
            "latestShipDays": rng.choice([1, 2, 3]),
        }
        out.append(rec)
    out.sort(key=lambda o: (o["created"], o["id"]))
    return out


def _offer_price(listing: dict[str, Any], mp: str) -> float | None:
    for offer in listing["attributes"].get("purchasable_offer") or []:
        if isinstance(offer, dict) and offer.get("marketplace_id") in (mp, None):
            try:
                return float(offer["our_price"][0]["schedule"][0]["value_with_tax"])
            except (KeyError, IndexError, TypeError, ValueError):
                return None
    return None


offer_price = _offer_price
