"""Coverage per Readyset release profile, with the statements real ORMs generate.

tests/e2e/test_coverage.py sends ORM shapes copied by hand; here SQLAlchemy 2 (Core and ORM) and
Django build their own statements (backquotes, parentheses, `LIMIT 21`, `SELECT 1 AS a`, the
Paginator's COUNT before its page, …) and send them through the ProxySQL emulator with PyMySQL,
as an application does. Each read is a small function of one literal value, called with a first
value (before the scheduler runs) and a fresh one (after), on a fresh sandbox per profile:

1. every read runs with its first value; the statements it sends are captured on the wire;
2. one scheduler pass: a statement whose digest text a cache of that release serves ("hit") has
   a rule and its fresh variant is served from a cache; a refused one has no rule and a log line;
3. a second pass after the learned (mirrored) variants are seen again; then with the first and the
   fresh value, nothing the rules send to Readyset is proxied, and every expected hit still hits
   (a digest still mirrored to learn its variants is answered by the source and counted apart).

The expectations are written from the reference (readyset.md §7.6, readyset-matching-cases.md)
in the style of tests/e2e/orm_shapes.py: a hit by default, `refused_by` names the profiles that
refuse a statement.
"""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Optional

import pymysql
import pytest
import sqlalchemy as sa
from sqlalchemy import orm as sa_orm

from rps_sandbox.digest import digest_of, digest_text
from rps_sandbox.mariadb import MariaDB
from rps_sandbox.sandbox import READYSET_HOSTGROUP, Sandbox
from tests.e2e.conftest import admin_rows, run_scheduler
from tests.e2e.orm_shapes import ORDER_BY_OLD, ORDERLESS_LIMIT, PROFILES, A, _deep
from tests.e2e.test_coverage import _counts, _proxied_entries

HIT: frozenset[str] = frozenset()
# `SELECT EXISTS (SELECT … WHERE …) AS anon_1`: no FROM at the top (readyset.md §7.4)
EVERYWHERE = frozenset(PROFILES)
# Deep caches, without --feature-post-lookup, refuse an aggregate over a range parameter, and
# DISTINCT over one through stable-260423: Readyset's source, cited in
# rps_sandbox/readyset/profile.py (†); the reference files do not cover these two.
RANGE_AGGREGATE = _deep()
RANGE_DISTINCT_OLD = frozenset((A,))


@dataclass(frozen=True)
class Read:
    """An ORM read: `call(value)` sends one statement per entry of `refused_by`, in that order,
    each refused by the profiles named there (an empty set: a hit on every profile)."""

    source: str
    call: Callable[[Any], object]
    first: Any
    fresh: Any
    refused_by: tuple[frozenset[str], ...] = (HIT,)

    def expected(self, profile: str) -> list[str]:
        return ["refused" if profile in r else "hit" for r in self.refused_by]


# --- SQLAlchemy 2: declarative models over the sandbox's `shop` tables (src/rps_sandbox/mariadb.py)


class Base(sa_orm.DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"
    id: sa_orm.Mapped[int] = sa_orm.mapped_column(primary_key=True)
    name: sa_orm.Mapped[str] = sa_orm.mapped_column(sa.String(100))
    email: sa_orm.Mapped[str] = sa_orm.mapped_column(sa.String(200))
    country: sa_orm.Mapped[str] = sa_orm.mapped_column(sa.String(2))
    created_at: sa_orm.Mapped[datetime.date]
    balance: sa_orm.Mapped[Decimal] = sa_orm.mapped_column(sa.Numeric(10, 2))
    note: sa_orm.Mapped[Optional[str]] = sa_orm.mapped_column(sa.String(200))


class Product(Base):
    __tablename__ = "products"
    id: sa_orm.Mapped[int] = sa_orm.mapped_column(primary_key=True)
    sku: sa_orm.Mapped[str] = sa_orm.mapped_column(sa.String(20))
    name: sa_orm.Mapped[str] = sa_orm.mapped_column(sa.String(100))
    category: sa_orm.Mapped[str] = sa_orm.mapped_column(sa.String(30))
    price: sa_orm.Mapped[Decimal] = sa_orm.mapped_column(sa.Numeric(10, 2))
    stock: sa_orm.Mapped[int]


class Order(Base):
    __tablename__ = "orders"
    id: sa_orm.Mapped[int] = sa_orm.mapped_column(primary_key=True)
    customer_id: sa_orm.Mapped[int]
    status: sa_orm.Mapped[str] = sa_orm.mapped_column(sa.String(20))
    created_at: sa_orm.Mapped[datetime.datetime]
    total: sa_orm.Mapped[Decimal] = sa_orm.mapped_column(sa.Numeric(10, 2))


class OrderItem(Base):
    __tablename__ = "order_items"
    order_id: sa_orm.Mapped[int] = sa_orm.mapped_column(primary_key=True)
    product_id: sa_orm.Mapped[int] = sa_orm.mapped_column(primary_key=True)
    quantity: sa_orm.Mapped[int]
    price: sa_orm.Mapped[Decimal] = sa_orm.mapped_column(sa.Numeric(10, 2))


# The application's sessionmaker, bound to each profile's sandbox by _orms().
SASession = sa_orm.sessionmaker()


def _sa_engine() -> sa.Engine:
    engine = SASession.kw["bind"]
    assert isinstance(engine, sa.Engine)
    return engine


def sa_get(pk: int) -> object:
    with SASession() as session:
        return session.get(Customer, pk)


def sa_where_eq(category: str) -> object:
    with SASession() as session:
        return session.scalars(sa.select(Product).where(Product.category == category)).all()


def sa_in(ids: tuple[int, ...]) -> object:
    with SASession() as session:
        return session.scalars(sa.select(Order).where(Order.id.in_(ids))).all()


def sa_range(price: int) -> object:
    with SASession() as session:
        return session.scalars(sa.select(Product).where(Product.price < price)).all()


def sa_like(prefix: str) -> object:
    with SASession() as session:
        return session.scalars(sa.select(Customer).where(Customer.email.like(prefix))).all()


def sa_limit(category: str) -> object:
    with SASession() as session:
        stmt = sa.select(Product).where(Product.category == category).limit(5)
        return session.scalars(stmt).all()


def sa_page(page: int) -> object:
    with SASession() as session:
        stmt = sa.select(Product).order_by(Product.id).limit(10).offset(10 * page)
        return session.scalars(stmt).all()


def sa_core_count(customer_id: int) -> object:
    orders = Order.__table__
    with _sa_engine().connect() as conn:
        stmt = sa.select(sa.func.count()).select_from(orders)
        return conn.execute(stmt.where(orders.c.customer_id == customer_id)).scalar_one()


def sa_exists(customer_id: int) -> object:
    with SASession() as session:
        return session.scalar(sa.select(sa.exists().where(Order.customer_id == customer_id)))


def sa_core_group_by(stock: int) -> object:
    products = Product.__table__
    with _sa_engine().connect() as conn:
        stmt = (
            sa.select(products.c.category, sa.func.count())
            .where(products.c.stock > stock)
            .group_by(products.c.category)
        )
        return conn.execute(stmt).all()


# --- Django: settings configured in-process, unmanaged models over the same tables

DJ = SimpleNamespace()  # the models, defined once Django is set up (_django())


def _django() -> None:
    """Configure Django once per test process (settings.configure cannot run twice)."""
    from django.conf import settings

    if settings.configured:
        return
    # Django's MySQL backend needs MySQLdb (mysqlclient); PyMySQL stands in for it and poses as
    # a mysqlclient release through `version_info`. PyMySQL < 1.1 posed as one older than
    # Django's floor (1.4.3; 2.2.1 for Django 6): raise it, the API Django uses is the same.
    if pymysql.version_info < (2, 2, 1):
        pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()
    # Django imports submodules (`MySQLdb.constants`, `MySQLdb.converters`, …): without these
    # aliases Python loads PyMySQL's files a second time under those names and rebinds
    # `pymysql.err` & co. to the copies, whose exception classes are not the ones PyMySQL raises.
    for name, module in list(sys.modules.items()):
        if name.startswith("pymysql."):
            sys.modules.setdefault("MySQLdb." + name[len("pymysql.") :], module)
    # Django reads the server's version with `SELECT VERSION()`, which ProxySQL's traffic port
    # forwards to a backend, MariaDB here (proxysql.md names `select @@version_comment limit 1`
    # as a probe it answers itself, not this one): the handshake's 8.0.11 is not what Django sees.
    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.mysql",
                "HOST": "127.0.0.1",
                "PORT": 0,  # each profile's sandbox sets its traffic port
            }
        },
        INSTALLED_APPS=[],
        USE_TZ=False,
    )
    import django
    from django.db import models

    django.setup()
    from django.db.backends.mysql import base  # noqa: F401  (imports the MySQLdb submodules)

    assert pymysql.err is sys.modules["pymysql.err"], "Django loaded a second copy of PyMySQL"

    class Customer(models.Model):
        name = models.CharField(max_length=100)
        email = models.CharField(max_length=200)
        country = models.CharField(max_length=2)
        created_at = models.DateField()
        balance = models.DecimalField(max_digits=10, decimal_places=2)
        note = models.CharField(max_length=200, null=True)

        class Meta:
            app_label = "shop"
            managed = False
            db_table = "customers"

    class Product(models.Model):
        sku = models.CharField(max_length=20)
        name = models.CharField(max_length=100)
        category = models.CharField(max_length=30)
        price = models.DecimalField(max_digits=10, decimal_places=2)
        stock = models.IntegerField()

        class Meta:
            app_label = "shop"
            managed = False
            db_table = "products"

    class Order(models.Model):
        customer = models.ForeignKey(Customer, models.DO_NOTHING, db_constraint=False)
        status = models.CharField(max_length=20)
        created_at = models.DateTimeField()
        total = models.DecimalField(max_digits=10, decimal_places=2)

        class Meta:
            app_label = "shop"
            managed = False
            db_table = "orders"

    DJ.Customer, DJ.Product, DJ.Order = Customer, Product, Order


def dj_get(pk: int) -> object:
    return DJ.Customer.objects.get(pk=pk)


def dj_first(email: str) -> object:
    return DJ.Customer.objects.filter(email=email).first()


def dj_in(ids: tuple[int, ...]) -> object:
    return list(DJ.Product.objects.filter(id__in=ids))


def dj_gt(stock: int) -> object:
    return list(DJ.Product.objects.filter(stock__gt=stock))


def dj_range(days: tuple[int, int]) -> object:
    start = datetime.datetime(2024, 2, 1)
    span = (start + datetime.timedelta(days=days[0]), start + datetime.timedelta(days=days[1]))
    return list(DJ.Order.objects.filter(created_at__range=span))


def dj_icontains(text: str) -> object:
    return list(DJ.Customer.objects.filter(name__icontains=text))


def dj_exists(customer_id: int) -> object:
    return DJ.Order.objects.filter(customer_id=customer_id).exists()


def dj_count(status: str) -> object:
    return DJ.Order.objects.filter(status=status).count()


def dj_page(category_page: tuple[str, int]) -> object:
    from django.core.paginator import Paginator

    category, page = category_page
    products = DJ.Product.objects.filter(category=category).order_by("id")
    return list(Paginator(products, 5).page(page))


def dj_distinct(stock: int) -> object:
    rows = DJ.Product.objects.filter(stock__lt=stock).values_list("category", flat=True)
    return list(rows.distinct())


def dj_q_or(category_stock: tuple[str, int]) -> object:
    from django.db.models import Q

    category, stock = category_stock
    return list(DJ.Product.objects.filter(Q(category=category) | Q(stock__lt=stock)))


READS: list[Read] = [
    Read("SQLAlchemy session.get(Customer, id)", sa_get, 5, 17),
    Read("SQLAlchemy select(Product).where(category == …)", sa_where_eq, "books", "games"),
    Read("SQLAlchemy .where(Order.id.in_([…]))", sa_in, (10, 20, 30), (11, 21, 31)),
    Read("SQLAlchemy .where(Product.price < …)", sa_range, 20, 30),
    Read("SQLAlchemy .where(Customer.email.like(…))", sa_like, "c1%", "c2%", (_deep(),)),
    Read("SQLAlchemy .where(…).limit(5)", sa_limit, "kitchen", "tools", (ORDERLESS_LIMIT,)),
    Read("SQLAlchemy .order_by(id).limit(10).offset(…)", sa_page, 1, 2, (ORDER_BY_OLD,)),
    Read("SQLAlchemy Core func.count() where ==", sa_core_count, 12, 23),
    Read("SQLAlchemy select(exists().where(…))", sa_exists, 12, 23, (EVERYWHERE,)),
    Read(
        "SQLAlchemy Core group_by(category), stock > …",
        sa_core_group_by,
        10,
        20,
        (RANGE_AGGREGATE,),
    ),
    # The reference says a pinned primary key drops the LIMIT on HEAD deep with Top K, so a
    # digest-text cache would serve it (readyset-matching-cases.md row 33); the scheduler does
    # not know the table's keys and keeps refusing it there, as for orm_shapes.py's `find`s.
    Read("Django .get(pk=…)", dj_get, 5, 17, (ORDERLESS_LIMIT,)),
    Read(
        "Django .filter(email=…).first()",
        dj_first,
        "c5@example.com",
        "c8@example.com",
        (ORDER_BY_OLD,),
    ),
    Read("Django .filter(id__in=[…])", dj_in, (1, 2, 3), (4, 5, 6)),
    Read("Django .filter(stock__gt=…)", dj_gt, 40, 45),
    Read("Django .filter(created_at__range=(…))", dj_range, (0, 9), (4, 11), (_deep(),)),
    Read("Django .filter(name__icontains=…)", dj_icontains, "5", "7", (_deep(),)),
    Read("Django .filter(customer_id=…).exists()", dj_exists, 12, 23, (_deep(),)),
    Read("Django .filter(status=…).count()", dj_count, "paid", "new"),
    Read(
        "Django Paginator(…order_by('id'), 5).page(n)",
        dj_page,
        ("games", 3),
        ("tools", 2),
        (HIT, ORDER_BY_OLD),
    ),
    Read("Django .values_list('category').distinct()", dj_distinct, 5, 8, (RANGE_DISTINCT_OLD,)),
    Read(
        "Django .filter(Q(category=…) | Q(stock__lt=…))",
        dj_q_or,
        ("books", 5),
        ("tools", 3),
        (_deep(),),
    ),
]


# --- the wire: which statements a read sends, and who answered each


@contextmanager
def _sent(port: int) -> Iterator[list[str]]:
    """The SELECT statements PyMySQL sends to `port` while the block runs, as sent (literals
    inlined). The emulators' own PyMySQL connections, to other ports, are not counted."""
    statements: list[str] = []
    original = pymysql.connections.Connection.query

    def query(conn: Any, sql: Any, unbuffered: bool = False) -> Any:
        text = sql.decode() if isinstance(sql, bytes) else str(sql)
        if conn.port == port and text.lstrip().upper().startswith("SELECT"):
            statements.append(text)
        return original(conn, sql, unbuffered)

    pymysql.connections.Connection.query = query  # type: ignore[method-assign]
    try:
        yield statements
    finally:
        pymysql.connections.Connection.query = original  # type: ignore[method-assign]


def _statements(sandbox: Sandbox, read: Read, value: Any) -> list[str]:
    with _sent(sandbox.traffic_port) as statements:
        read.call(value)
    assert len(statements) == len(read.refused_by), (read.source, statements)
    return statements


def _answered(
    sandbox: Sandbox, read: Read, value: Any, mirrored: frozenset[str] = frozenset()
) -> list[str]:
    """Per statement of the read: hit (Readyset, from a cache), proxied (Readyset, to the
    database), source, or mirrored (its digest has a learning mirror rule: the source answers,
    and Readyset proxies the copy, sooner or later, by design)."""
    rs = sandbox.readyset[0]
    before = len(rs.executions)
    statements = _statements(sandbox, read, value)
    seen = list(rs.executions)[before:]
    out = []
    for sql in statements:
        mine = [e for e in seen if e.sql == sql]
        if digest_of(digest_text(sql)) in mirrored:
            out.append("mirrored")
        else:
            out.append(
                "source" if not mine else "hit" if mine[-1].destination == "cache" else "proxied"
            )
    return out


def _rules(sandbox: Sandbox) -> tuple[set[str], frozenset[str]]:
    """The digests routed to Readyset, and those mirrored to it to learn literal variants."""
    rows = admin_rows(
        sandbox,
        "SELECT digest, destination_hostgroup, mirror_hostgroup, comment"
        " FROM runtime_mysql_query_rules",
    )
    routed = {str(r[0]) for r in rows if r[1] is not None and int(r[1]) == READYSET_HOSTGROUP}
    learning = frozenset(
        str(r[0])
        for r in rows
        if r[2] is not None and int(r[2]) == READYSET_HOSTGROUP and "learning" in str(r[3])
    )
    return routed, learning


@contextmanager
def _orms(sandbox: Sandbox) -> Iterator[None]:
    """Point both ORMs at the sandbox's ProxySQL traffic port, as the application user."""
    db = sandbox.mariadb
    assert db is not None
    engine = sa.create_engine(
        sa.URL.create(
            "mysql+pymysql",
            username=db.app_user,
            password=db.app_password,
            host="127.0.0.1",
            port=sandbox.traffic_port,
            database=db.schema,
        )
    )
    SASession.configure(bind=engine)
    _django()
    from django.db import connection

    connection.close()
    connection.settings_dict.update(
        NAME=db.schema, USER=db.app_user, PASSWORD=db.app_password, PORT=sandbox.traffic_port
    )
    try:
        # Connect once: the ORMs' own probes (SELECT VERSION(), @@sql_mode, …) are not reads.
        with engine.connect():
            pass
        connection.ensure_connection()
        yield
    finally:
        connection.close()
        engine.dispose()


@pytest.mark.parametrize("profile", list(PROFILES))
def test_real_orm_reads_per_release(mariadb: MariaDB, tmp_path: Path, profile: str) -> None:
    options: dict[str, Any] = dict(PROFILES[profile])
    sandbox = Sandbox(mariadb=mariadb, workdir=tmp_path / "sandbox", **options).start()
    try:
        with _orms(sandbox):
            _check_profile(sandbox, tmp_path, profile)
    finally:
        sandbox.stop()


def _check_profile(sandbox: Sandbox, tmp_path: Path, profile: str) -> None:
    # 1. Each read three times with its first value; the digest of each statement it sends.
    digests: dict[tuple[Read, int], tuple[str, str]] = {}
    for read in READS:
        for _ in range(3):
            statements = _statements(sandbox, read, read.first)
        for i, sql in enumerate(statements):
            digests[read, i] = (digest_of(digest_text(sql)), sql)
    recorded = _counts(sandbox)
    missing = [sql for digest, sql in digests.values() if digest not in recorded]
    assert not missing, f"ProxySQL recorded no digest for {missing}"

    # 2. One pass: expected hits are routed and served with the fresh value.
    config = sandbox.scheduler_config(
        tmp_path / "scheduler.cnf", number_of_queries=100, pass_timeout_s=60
    )
    run = run_scheduler(config, timeout=120)
    assert run.code == 0, run.lines
    routed, learning = _rules(sandbox)
    fresh = {read: _answered(sandbox, read, read.fresh) for read in READS}
    log = "\n".join(run.lines)
    problems = []
    for read in READS:
        for i, want in enumerate(read.expected(profile)):
            digest, sql = digests[read, i]
            got = fresh[read][i]
            where = f"{read.source} #{i + 1}: {{}}  [{sql}]"
            if want == "hit" and not (digest in routed and got == "hit"):
                problems.append(where.format(f"expected a hit, got {got}"))
            if want == "refused" and digest in routed:
                problems.append(where.format("expected no rule from its digest text"))
            if want == "refused" and f"digest {digest} " not in log:
                problems.append(where.format("refused without a log line saying why"))
    assert not problems, f"{profile}:\n" + "\n".join(problems) + "\n--- log\n" + log

    # 3. Second pass, after the mirrored (learning) statements are seen again with the first value.
    learned = [
        r for r in READS if any(digests[r, i][0] in learning for i in range(len(r.refused_by)))
    ]
    for read in learned:
        read.call(read.first)
    deadline = time.monotonic() + 10
    while _proxied_entries(sandbox) < len(learned) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = run_scheduler(config, timeout=120)
    assert second.code == 0, second.lines
    still_learning = _rules(sandbox)[1]
    again = {read: _answered(sandbox, read, read.first, still_learning) for read in READS}
    later = {read: _answered(sandbox, read, read.fresh, still_learning) for read in READS}
    # No hop for nothing: nothing the rules send to Readyset is proxied by it.
    proxied = [r.source for r in READS if "proxied" in again[r] + later[r]]
    assert not proxied, f"{profile}: routed to Readyset and proxied: {proxied}"
    lost = [
        f"{r.source} #{i + 1}"
        for r in READS
        for i, want in enumerate(r.expected(profile))
        if want == "hit" and later[r][i] != "hit"
    ]
    assert not lost, f"{profile}: no longer served: {lost}\n" + "\n".join(second.lines)

    statements = [(r, i) for r in READS for i in range(len(r.refused_by))]
    expected_hits = sum(r.expected(profile)[i] == "hit" for r, i in statements)
    print(
        f"\n{profile}: {len(READS)} ORM reads, {len(statements)} statements; digest-text caches"
        f" serve {expected_hits}; learning {len(learned)} reads; after two passes"
        f" {sum(again[r][i] == 'hit' for r, i in statements)} served with the first value,"
        f" {sum(later[r][i] == 'hit' for r, i in statements)} with the fresh one;"
        f" {sum(again[r][i] == 'mirrored' for r, i in statements)} still mirrored; 0 proxied"
    )
    for r, i in statements:
        sql = " ".join(digests[r, i][1].split())
        print(f"  {r.source} #{i + 1}: first {again[r][i]}, fresh {later[r][i]}  [{sql}]")
