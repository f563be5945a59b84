"""Hand-written domain vocabulary behind the synthetic agent benchmark: categories,
their entities (with the words people use for them) and the operations on them."""

from __future__ import annotations

# category -> (title, [(entity, plural, [synonyms], [fields])])
CATEGORIES: dict[str, tuple[str, list[tuple[str, str, list[str], list[str]]]]] = {
    "calendar": (
        "Calendar",
        [
            ("event", "events", ["meeting", "appointment"], ["title", "date", "time"]),
            ("reminder", "reminders", ["alert", "nudge"], ["text", "date", "time"]),
            ("attendee", "attendees", ["participant", "guest"], ["email", "event_id"]),
            ("room", "rooms", ["meeting room", "conference room"], ["name", "capacity"]),
        ],
    ),
    "email": (
        "Email",
        [
            ("message", "messages", ["email", "mail"], ["recipient", "subject", "body"]),
            ("draft", "drafts", ["unsent email", "draft message"], ["recipient", "subject"]),
            ("label", "labels", ["tag", "folder tag"], ["name", "color"]),
            ("filter", "filters", ["inbox rule", "mail rule"], ["query", "action"]),
        ],
    ),
    "weather": (
        "Weather",
        [
            ("forecast", "forecasts", ["outlook", "weather prediction"], ["city", "date"]),
            ("alert", "alerts", ["storm warning", "weather warning"], ["city", "severity"]),
            ("station", "stations", ["weather station", "sensor site"], ["city", "name"]),
            ("report", "reports", ["current conditions", "observation"], ["city", "time"]),
        ],
    ),
    "travel": (
        "Travel",
        [
            ("flight", "flights", ["plane ticket", "air trip"], ["origin", "destination", "date"]),
            ("hotel", "hotels", ["room booking", "accommodation"], ["city", "date", "nights"]),
            ("itinerary", "itineraries", ["trip plan", "travel plan"], ["title", "date"]),
            ("car_rental", "car rentals", ["rental car", "hire car"], ["city", "date", "days"]),
        ],
    ),
    "finance": (
        "Finance",
        [
            (
                "payment",
                "payments",
                ["transfer", "money transfer"],
                ["recipient", "amount", "currency"],
            ),
            ("invoice", "invoices", ["bill", "billing statement"], ["customer", "amount", "date"]),
            ("budget", "budgets", ["spending plan", "spending limit"], ["name", "amount"]),
            ("account", "accounts", ["bank account", "wallet"], ["name", "currency"]),
        ],
    ),
    "shopping": (
        "Shopping",
        [
            ("order", "orders", ["purchase", "delivery"], ["product", "quantity"]),
            (
                "cart_item",
                "cart items",
                ["basket item", "item in my cart"],
                ["product", "quantity"],
            ),
            ("wishlist", "wishlists", ["wish list", "saved list"], ["name", "product"]),
            ("review", "reviews", ["product rating", "rating"], ["product", "stars", "text"]),
        ],
    ),
    "music": (
        "Music",
        [
            ("playlist", "playlists", ["mix", "song list"], ["name", "genre"]),
            ("track", "tracks", ["song", "tune"], ["title", "artist"]),
            ("album", "albums", ["record", "LP"], ["title", "artist"]),
            ("station", "stations", ["radio station", "music channel"], ["genre", "name"]),
        ],
    ),
    "smart_home": (
        "Smart home",
        [
            ("light", "lights", ["lamp", "bulb"], ["room", "brightness"]),
            (
                "thermostat",
                "thermostats",
                ["heating", "temperature control"],
                ["room", "temperature"],
            ),
            ("lock", "locks", ["door lock", "smart lock"], ["door", "state"]),
            ("scene", "scenes", ["lighting preset", "home routine"], ["name", "room"]),
        ],
    ),
    "tasks": (
        "Task manager",
        [
            ("task", "tasks", ["to-do", "todo item"], ["title", "date", "priority"]),
            ("project", "projects", ["workspace", "initiative"], ["name", "owner"]),
            ("comment", "comments", ["note on a task", "remark"], ["task_id", "text"]),
            ("tag", "tags", ["task label", "marker"], ["name", "color"]),
        ],
    ),
    "contacts": (
        "Contacts",
        [
            ("contact", "contacts", ["person", "address book entry"], ["name", "email", "phone"]),
            ("group", "groups", ["contact group", "circle"], ["name"]),
            ("birthday", "birthdays", ["date of birth", "anniversary"], ["name", "date"]),
            ("address", "addresses", ["postal address", "home address"], ["name", "city"]),
        ],
    ),
    "files": (
        "File storage",
        [
            ("file", "files", ["document", "attachment"], ["path", "name"]),
            ("folder", "folders", ["directory", "drive folder"], ["path", "name"]),
            ("share_link", "share links", ["sharing link", "public link"], ["path", "email"]),
            ("backup", "backups", ["snapshot", "archive copy"], ["path", "date"]),
        ],
    ),
    "news": (
        "News",
        [
            ("headline", "headlines", ["top story", "breaking news"], ["topic", "date"]),
            ("article", "articles", ["news story", "news piece"], ["topic", "title"]),
            ("subscription", "subscriptions", ["news feed", "newsletter"], ["topic", "email"]),
            ("source", "sources", ["publisher", "outlet"], ["name", "topic"]),
        ],
    ),
    "maps": (
        "Maps",
        [
            ("route", "routes", ["directions", "way to get"], ["origin", "destination"]),
            ("place", "places", ["point of interest", "venue"], ["name", "city"]),
            ("traffic_report", "traffic reports", ["traffic", "congestion info"], ["city", "road"]),
            (
                "saved_location",
                "saved locations",
                ["pinned spot", "favorite place"],
                ["name", "city"],
            ),
        ],
    ),
    "restaurants": (
        "Restaurants",
        [
            (
                "reservation",
                "reservations",
                ["table booking", "dinner booking"],
                ["restaurant", "date", "party_size"],
            ),
            ("menu", "menus", ["dish list", "food options"], ["restaurant"]),
            ("food_order", "food orders", ["takeout", "food delivery"], ["restaurant", "dish"]),
            (
                "restaurant_review",
                "restaurant reviews",
                ["dining review", "restaurant rating"],
                ["restaurant", "stars"],
            ),
        ],
    ),
    "health": (
        "Health",
        [
            ("workout", "workouts", ["exercise session", "training"], ["kind", "minutes"]),
            ("medication", "medications", ["pill schedule", "medicine"], ["name", "dose", "time"]),
            ("sleep_log", "sleep logs", ["sleep record", "night of sleep"], ["date", "hours"]),
            (
                "doctor_visit",
                "doctor visits",
                ["medical appointment", "checkup"],
                ["doctor", "date"],
            ),
        ],
    ),
    "social": (
        "Social media",
        [
            ("post", "posts", ["status update", "tweet"], ["text"]),
            ("follower", "followers", ["fan", "subscriber"], ["username"]),
            ("direct_message", "direct messages", ["DM", "private message"], ["username", "text"]),
            ("story", "stories", ["24-hour story", "short clip"], ["text", "media"]),
        ],
    ),
    "crm": (
        "CRM",
        [
            ("lead", "leads", ["prospect", "potential customer"], ["name", "company"]),
            ("deal", "deals", ["opportunity", "sales deal"], ["name", "amount"]),
            ("customer", "customers", ["client", "account holder"], ["name", "company"]),
            ("ticket", "tickets", ["support case", "help desk request"], ["subject", "priority"]),
        ],
    ),
    "devops": (
        "DevOps",
        [
            ("deployment", "deployments", ["release", "rollout"], ["service", "version"]),
            ("server", "servers", ["machine", "host"], ["name", "region"]),
            ("alert_rule", "alert rules", ["monitor", "alarm"], ["metric", "threshold"]),
            ("log_query", "log queries", ["log search", "saved log search"], ["service", "query"]),
        ],
    ),
    "education": (
        "Education",
        [
            ("course", "courses", ["class", "module"], ["title", "teacher"]),
            ("assignment", "assignments", ["homework", "coursework"], ["course", "date"]),
            ("grade", "grades", ["mark", "score"], ["student", "course"]),
            ("flashcard", "flashcards", ["study card", "memory card"], ["front", "back"]),
        ],
    ),
    "hr": (
        "Human resources",
        [
            (
                "leave_request",
                "leave requests",
                ["vacation request", "time off"],
                ["employee", "date", "days"],
            ),
            ("employee", "employees", ["staff member", "colleague"], ["name", "team"]),
            ("job_posting", "job postings", ["vacancy", "opening"], ["title", "team"]),
            (
                "expense_claim",
                "expense claims",
                ["reimbursement", "expense report"],
                ["employee", "amount"],
            ),
        ],
    ),
    "real_estate": (
        "Real estate",
        [
            ("listing", "listings", ["property for sale", "home for sale"], ["city", "price"]),
            ("viewing", "viewings", ["house tour", "open house visit"], ["listing_id", "date"]),
            (
                "mortgage_quote",
                "mortgage quotes",
                ["loan offer", "mortgage estimate"],
                ["amount", "years"],
            ),
            (
                "saved_search",
                "saved searches",
                ["property alert", "search alert"],
                ["city", "price"],
            ),
        ],
    ),
    "sports": (
        "Sports",
        [
            ("score", "scores", ["match result", "final score"], ["team", "date"]),
            ("fixture", "fixtures", ["upcoming game", "match schedule"], ["team", "date"]),
            ("standing", "standings", ["league table", "ranking"], ["league"]),
            (
                "ticket_booking",
                "ticket bookings",
                ["game ticket", "match ticket"],
                ["team", "date", "quantity"],
            ),
        ],
    ),
    "translation": (
        "Language",
        [
            (
                "translation",
                "translations",
                ["translated text", "rendering in another language"],
                ["text", "language"],
            ),
            ("glossary", "glossaries", ["term list", "terminology"], ["name", "language"]),
            (
                "pronunciation",
                "pronunciations",
                ["audio pronunciation", "spoken form"],
                ["word", "language"],
            ),
            ("detection", "detections", ["language check", "language identification"], ["text"]),
        ],
    ),
    "photos": (
        "Photos",
        [
            ("photo", "photos", ["picture", "image"], ["album", "date"]),
            ("photo_album", "photo albums", ["gallery", "picture collection"], ["name"]),
            ("face_tag", "face tags", ["person tag", "people label"], ["photo_id", "name"]),
            ("edit", "edits", ["filter", "retouch"], ["photo_id", "kind"]),
        ],
    ),
    "ride": (
        "Ride hailing",
        [
            ("ride", "rides", ["taxi", "cab"], ["origin", "destination", "time"]),
            (
                "driver_rating",
                "driver ratings",
                ["driver review", "trip rating"],
                ["ride_id", "stars"],
            ),
            (
                "fare_estimate",
                "fare estimates",
                ["price quote", "trip cost"],
                ["origin", "destination"],
            ),
            (
                "scheduled_pickup",
                "scheduled pickups",
                ["booked pickup", "future ride"],
                ["origin", "time"],
            ),
        ],
    ),
    "notes": (
        "Notes",
        [
            ("note", "notes", ["memo", "jotting"], ["title", "text"]),
            ("notebook", "notebooks", ["note collection", "journal"], ["name"]),
            ("checklist", "checklists", ["check list", "packing list"], ["title", "items"]),
            ("voice_memo", "voice memos", ["audio note", "recording"], ["title", "seconds"]),
        ],
    ),
}

# op -> (description verb phrase, [phrasings a user would write])
OPERATIONS: dict[str, tuple[str, list[str]]] = {
    "create": ("Create a new", ["add a", "set up a", "make a new", "start a new", "put in a"]),
    "get": (
        "Get the details of one",
        ["show me the", "pull up the", "open the", "what are the details of the", "look at the"],
    ),
    "list": (
        "List all",
        [
            "show every",
            "give me all my",
            "enumerate the",
            "what are all the",
            "display each of the",
        ],
    ),
    "update": (
        "Update an existing",
        ["change the", "modify the", "edit the", "adjust the", "fix the"],
    ),
    "delete": (
        "Delete an existing",
        ["remove the", "get rid of the", "erase the", "throw away the", "drop the"],
    ),
}

VALUES: dict[str, list[str]] = {
    "title": ["Budget review", "Team sync", "Launch plan", "Weekly retro", "Q3 goals"],
    "date": ["tomorrow", "next Monday", "June 3", "Friday", "the 14th"],
    "time": ["9am", "3:30pm", "noon", "8pm", "7:15am"],
    "text": [
        "call mom",
        "pick up groceries",
        "happy birthday!",
        "see you soon",
        "remember the keys",
    ],
    "email": ["ana@example.com", "li@example.org", "sam@example.net"],
    "name": ["Alpha", "Home", "Weekend", "Project X", "Family"],
    "recipient": ["Maria", "my landlord", "the team", "Dr. Chen", "Omar"],
    "subject": ["invoice", "schedule change", "hello", "follow-up"],
    "city": ["Paris", "Tokyo", "Berlin", "Lagos", "Lima", "Toronto"],
    "origin": ["home", "the airport", "Berlin", "the office"],
    "destination": ["downtown", "Rome", "the station", "Madrid"],
    "amount": ["250", "1,200", "49.99", "80"],
    "currency": ["EUR", "USD", "JPY"],
    "product": ["running shoes", "a coffee grinder", "headphones", "a desk lamp"],
    "quantity": ["2", "3", "1"],
    "genre": ["jazz", "lo-fi", "rock", "classical"],
    "artist": ["Nina Simone", "Daft Punk", "Adele"],
    "room": ["the kitchen", "the bedroom", "the living room"],
    "team": ["Arsenal", "the Lakers", "marketing", "platform"],
    "restaurant": ["Luigi's", "Sakura", "the corner bistro"],
    "topic": ["climate", "elections", "AI", "football"],
    "language": ["Spanish", "German", "Japanese"],
}

CONNECTORS = [", then ", ", after that ", " and then ", ". Next, ", ". After that, ", ", then "]
FINAL_CONNECTORS = [" and finally ", ". Finally, ", ", and finally "]
PREFIXES = ["", "", "Please ", "Can you ", "I need you to ", "Hey, could you ", "Go ahead and "]
SUFFIXES = ["", "", " please", " for me", " right away", " when you can"]

# Messages that need no tool, some deliberately using the domain's words.
CHITCHAT = [
    "Hi! How is your day going?",
    "Thanks a lot, that was helpful.",
    "Tell me a joke about {plural}.",
    "What is a {entity} anyway?",
    "Why do people care so much about {plural}?",
    "I just had a long conversation with my friend about {plural}.",
    "Write a short poem about a {entity}.",
    "Explain the difference between a {entity} and a {other} in general terms.",
    "Do you think {plural} are overrated?",
    "I was thinking about my {entity} yesterday, it made me smile.",
    "What does the word '{entity}' mean?",
    "Good morning! Hope you're well.",
    "Can you explain in simple words how {plural} usually work?",
    "That's funny, haha.",
    "Who invented the first {entity}?",
    "Give me some general advice about keeping {plural} organized.",
]
