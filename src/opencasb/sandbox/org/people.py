"""The people of the synthetic organisation: names, departments, titles and habits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opencasb.sandbox.org.devices import Device
from opencasb.sandbox.org.places import City

__all__ = ["DEPARTMENTS", "FIRST_NAMES", "LAST_NAMES", "Department", "Person"]


@dataclass(frozen=True, slots=True)
class Department:
    """A department: its share of headcount, its job titles and the apps it works in."""

    name: str
    weight: float
    titles: tuple[str, ...]
    apps: tuple[str, ...]


# Apps everybody gets are in build.BASE_APPS; these are the department extras.
DEPARTMENTS: tuple[Department, ...] = (
    Department(
        "Engineering",
        0.27,
        (
            "Software Engineer",
            "Senior Software Engineer",
            "Staff Engineer",
            "Engineering Manager",
            "Site Reliability Engineer",
            "QA Engineer",
            "Data Engineer",
        ),
        ("github", "aws", "jira"),
    ),
    Department(
        "Product",
        0.07,
        ("Product Manager", "Senior Product Manager", "Product Designer", "UX Researcher"),
        ("jira", "github", "tableau"),
    ),
    Department(
        "Sales",
        0.16,
        (
            "Account Executive",
            "Sales Development Representative",
            "Sales Manager",
            "Sales Engineer",
            "Regional Sales Director",
        ),
        ("salesforce", "docusign"),
    ),
    Department(
        "Marketing",
        0.07,
        ("Marketing Manager", "Content Strategist", "Growth Analyst", "Events Coordinator"),
        ("salesforce", "box"),
    ),
    Department(
        "Customer Support",
        0.11,
        ("Support Engineer", "Customer Success Manager", "Support Team Lead"),
        ("zendesk", "salesforce", "jira"),
    ),
    Department(
        "Finance",
        0.05,
        ("Accountant", "Financial Analyst", "Controller", "Payroll Specialist"),
        ("netsuite", "tableau", "docusign", "box"),
    ),
    Department(
        "People",
        0.04,
        ("HR Business Partner", "Recruiter", "People Operations Specialist"),
        ("docusign", "box"),
    ),
    Department(
        "IT",
        0.05,
        ("IT Support Specialist", "Systems Administrator", "Identity Engineer", "IT Manager"),
        ("servicenow", "aws", "jira"),
    ),
    Department(
        "Security",
        0.03,
        ("Security Engineer", "Security Analyst", "Security Operations Lead"),
        ("aws", "github", "servicenow", "jira"),
    ),
    Department(
        "Legal",
        0.02,
        ("Corporate Counsel", "Paralegal", "Privacy Counsel"),
        ("docusign", "box"),
    ),
    Department(
        "Operations",
        0.12,
        ("Operations Manager", "Business Analyst", "Program Manager", "Office Manager"),
        ("tableau", "box", "jira"),
    ),
    Department(
        "Executive",
        0.01,
        (
            "Chief Executive Officer",
            "Chief Financial Officer",
            "Chief Technology Officer",
            "Vice President",
        ),
        ("salesforce", "tableau", "docusign", "box"),
    ),
)


@dataclass(frozen=True, slots=True)
class Person:
    """One person of the organisation. Everything is fixed by ``build_org(seed, size)``.

    ``index`` is stable (0..size-1) and is what other generators key their own ids on.
    ``work_start``/``work_end`` are minutes after local midnight on working days.
    ``apps`` are keys of ``Organisation.apps``. ``admin_roles`` use the role names of the
    identity provider's admin model (``SUPER_ADMIN``, ``ORG_ADMIN``, ...), empty if none.
    """

    index: int
    first_name: str
    last_name: str
    email: str
    department: str
    title: str
    kind: str  # "employee" | "contractor" | "guest"
    employee_number: str
    city: City
    home_ip: str
    home_isp: str
    work_start: int
    work_end: int
    devices: tuple[Device, ...]
    apps: tuple[str, ...]
    is_admin: bool
    admin_roles: tuple[str, ...]
    travels: bool
    uses_vpn: bool
    office_days: float  # share of working days spent at an office (0 = fully remote)
    created: datetime

    @property
    def login(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def country(self) -> str:
        return self.city.country

    @property
    def country_name(self) -> str:
        return self.city.country_name

    @property
    def region(self) -> str:
        return self.city.region

    @property
    def lat(self) -> float:
        return self.city.lat

    @property
    def lon(self) -> float:
        return self.city.lon

    @property
    def timezone(self) -> str:
        return self.city.tz


FIRST_NAMES: tuple[str, ...] = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Sandra",
    "Mark",
    "Ashley",
    "Steven",
    "Emily",
    "Andrew",
    "Michelle",
    "Joshua",
    "Amanda",
    "Kevin",
    "Melissa",
    "Brian",
    "Rebecca",
    "Oliver",
    "Amelia",
    "Harry",
    "Isla",
    "George",
    "Ava",
    "Noah",
    "Olivia",
    "Jack",
    "Sophie",
    "Liam",
    "Chloe",
    "Lukas",
    "Hannah",
    "Felix",
    "Lena",
    "Jonas",
    "Mia",
    "Leon",
    "Emma",
    "Louis",
    "Camille",
    "Hugo",
    "Manon",
    "Lucas",
    "Ines",
    "Sean",
    "Aoife",
    "Conor",
    "Niamh",
    "Daan",
    "Sanne",
    "Pablo",
    "Lucia",
    "Javier",
    "Carmen",
    "Piotr",
    "Zofia",
    "Jakub",
    "Agnieszka",
    "Arjun",
    "Priya",
    "Rahul",
    "Ananya",
    "Vikram",
    "Divya",
    "Wei",
    "Mei",
    "Jun",
    "Hana",
    "Haruto",
    "Yui",
    "Kenji",
    "Sakura",
    "Mateus",
    "Beatriz",
    "Gabriel",
    "Larissa",
    "Diego",
    "Valentina",
    "Ethan",
    "Grace",
    "Samuel",
    "Zoe",
    "Aaron",
    "Nora",
    "Omar",
    "Leila",
    "Tariq",
    "Amara",
    "Kwame",
    "Ada",
    "Mohammed",
    "Fatima",
)

LAST_NAMES: tuple[str, ...] = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Evans",
    "Murphy",
    "Kelly",
    "Byrne",
    "Walsh",
    "O'Brien",
    "Ryan",
    "Hughes",
    "Edwards",
    "Wood",
    "Cooper",
    "Ward",
    "Turner",
    "Price",
    "Bennett",
    "Murray",
    "Mueller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schulz",
    "Bernard",
    "Dubois",
    "Durand",
    "Lefebvre",
    "Moreau",
    "Laurent",
    "Fournier",
    "de Jong",
    "Jansen",
    "de Vries",
    "van Dijk",
    "Bakker",
    "Visser",
    "Fernandez",
    "Gomez",
    "Diaz",
    "Ruiz",
    "Moreno",
    "Nowak",
    "Kowalski",
    "Wisniewski",
    "Wojcik",
    "Kaminski",
    "Sharma",
    "Patel",
    "Gupta",
    "Singh",
    "Kumar",
    "Reddy",
    "Iyer",
    "Rao",
    "Chen",
    "Wang",
    "Zhang",
    "Liu",
    "Huang",
    "Tan",
    "Lim",
    "Ng",
    "Sato",
    "Suzuki",
    "Takahashi",
    "Tanaka",
    "Watanabe",
    "Ito",
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Pereira",
    "Costa",
    "Alves",
    "Okafor",
    "Mensah",
    "Haddad",
    "Khan",
    "Ali",
    "Hassan",
    "Cohen",
    "Levy",
    "Novak",
    "Horvat",
    "Larsen",
    "Berg",
)
