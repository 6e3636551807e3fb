"""Read shapes that ORMs send, with the outcome each Readyset release profile should give.

Each shape is written the way its source emits it (quoting, parentheses, aliases), against the
sandbox's `shop` schema, with two literal variants: `first` (sent before the scheduler runs, so
ProxySQL records its digest) and `fresh` (sent after, with other literals: it must be served by
the cache when the outcome is "hit").

Outcomes, per profile (reference readyset.md §7.6, readyset-matching-cases.md):
- "hit": the scheduler caches and routes the digest, and the fresh statement is a cache hit;
- "refused": the scheduler makes no rule (it logs why), the statement stays on the database.
The expectations are written from the reference, not from the scheduler's code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Release profiles of issue 10's matrix: Sandbox keyword arguments.
PROFILES: dict[str, dict[str, object]] = {
    "stable-250123 deep": {"release": "stable-250123"},
    "stable-260423 shallow": {"release": "stable-260423"},
    "HEAD shallow": {"release": "unknown-release-version"},
    "HEAD deep topk": {"release": "unknown-release-version", "cache_mode": "deep", "topk": True},
}
A, D_SH, H_SH, H_TOPK = PROFILES


@dataclass(frozen=True)
class Shape:
    source: str
    first: str
    fresh: str
    refused_by: frozenset[str] = field(default_factory=frozenset)  # profiles that refuse it

    def expected(self, profile: str) -> str:
        return "refused" if profile in self.refused_by else "hit"


def _deep(*extra: str) -> frozenset[str]:
    """Refused by both deep profiles (a literal a deep cache keeps), and by any extra."""
    return frozenset((A, H_TOPK, *extra))


# deep caches keep an order-less literal LIMIT in the key from stable-260730 with Top K
ORDERLESS_LIMIT = frozenset((H_TOPK,))
# stable-250123 (≤ stable-250522) refuses ORDER BY without --feature-post-lookup (case 35)
ORDER_BY_OLD = frozenset((A,))

SHAPES: list[Shape] = [
    # --- Django (django.db.models QuerySet)
    Shape(
        "Django Model.objects.get(pk=…)",
        "SELECT `customers`.`id`, `customers`.`name`, `customers`.`email` FROM `customers`"
        " WHERE `customers`.`id` = 5 LIMIT 21",
        "SELECT `customers`.`id`, `customers`.`name`, `customers`.`email` FROM `customers`"
        " WHERE `customers`.`id` = 17 LIMIT 21",
        ORDERLESS_LIMIT,
    ),
    Shape(
        "Django .filter(email=…).first()",
        "SELECT `customers`.`id`, `customers`.`name` FROM `customers`"
        " WHERE `customers`.`email` = 'c5@example.com' ORDER BY `customers`.`id` ASC LIMIT 1",
        "SELECT `customers`.`id`, `customers`.`name` FROM `customers`"
        " WHERE `customers`.`email` = 'c8@example.com' ORDER BY `customers`.`id` ASC LIMIT 1",
        ORDER_BY_OLD,
    ),
    Shape(
        "Django .filter(category=…).order_by('name')",
        "SELECT `products`.`id`, `products`.`name` FROM `products`"
        " WHERE `products`.`category` = 'books' ORDER BY `products`.`name` ASC",
        "SELECT `products`.`id`, `products`.`name` FROM `products`"
        " WHERE `products`.`category` = 'games' ORDER BY `products`.`name` ASC",
        ORDER_BY_OLD,
    ),
    Shape(
        "Django .filter(email=…).exists()",
        "SELECT 1 AS `a` FROM `customers` WHERE `customers`.`email` = 'c5@example.com' LIMIT 1",
        "SELECT 1 AS `a` FROM `customers` WHERE `customers`.`email` = 'c6@example.com' LIMIT 1",
        _deep(),
    ),
    Shape(
        "Django .filter(customer_id=…).count()",
        "SELECT COUNT(*) AS `__count` FROM `orders` WHERE `orders`.`customer_id` = 12",
        "SELECT COUNT(*) AS `__count` FROM `orders` WHERE `orders`.`customer_id` = 23",
    ),
    Shape(
        "Django .filter(id__in=[…])",
        "SELECT `products`.`id`, `products`.`price` FROM `products`"
        " WHERE `products`.`id` IN (1, 2, 3)",
        "SELECT `products`.`id`, `products`.`price` FROM `products`"
        " WHERE `products`.`id` IN (4, 5, 6)",
    ),
    Shape(
        "Django .filter(stock__gt=…)",
        "SELECT `products`.`id`, `products`.`stock` FROM `products` WHERE `products`.`stock` > 40",
        "SELECT `products`.`id`, `products`.`stock` FROM `products` WHERE `products`.`stock` > 45",
    ),
    Shape(
        "Django .filter(created_at__range=(…))",
        "SELECT `orders`.`id` FROM `orders` WHERE `orders`.`created_at`"
        " BETWEEN '2024-02-01 00:00:00' AND '2024-02-10 00:00:00'",
        "SELECT `orders`.`id` FROM `orders` WHERE `orders`.`created_at`"
        " BETWEEN '2024-02-05 00:00:00' AND '2024-02-12 00:00:00'",
        _deep(),
    ),
    Shape(
        "Django .filter(name__icontains=…)",
        "SELECT `customers`.`id` FROM `customers` WHERE `customers`.`name` LIKE '%5%'",
        "SELECT `customers`.`id` FROM `customers` WHERE `customers`.`name` LIKE '%7%'",
        _deep(),
    ),
    Shape(
        "Django .filter(Q(category=…) | Q(stock__lt=…))",
        "SELECT `products`.`id` FROM `products`"
        " WHERE (`products`.`category` = 'books' OR `products`.`stock` < 5)",
        "SELECT `products`.`id` FROM `products`"
        " WHERE (`products`.`category` = 'tools' OR `products`.`stock` < 3)",
        _deep(),
    ),
    Shape(
        "Django .filter(customer_id=…, status=…)",
        "SELECT `orders`.`id`, `orders`.`total` FROM `orders`"
        " WHERE (`orders`.`customer_id` = 12 AND `orders`.`status` = 'paid')",
        "SELECT `orders`.`id`, `orders`.`total` FROM `orders`"
        " WHERE (`orders`.`customer_id` = 56 AND `orders`.`status` = 'new')",
    ),
    Shape(
        "Django .filter(customer_id=…, total__gt=…)",
        "SELECT `orders`.`id` FROM `orders`"
        " WHERE (`orders`.`customer_id` = 12 AND `orders`.`total` > 100)",
        "SELECT `orders`.`id` FROM `orders`"
        " WHERE (`orders`.`customer_id` = 56 AND `orders`.`total` > 50)",
        _deep(),
    ),
    Shape(
        "Django Paginator page 3",
        "SELECT `products`.`id`, `products`.`name` FROM `products`"
        " WHERE `products`.`category` = 'games' ORDER BY `products`.`id` ASC LIMIT 5 OFFSET 10",
        "SELECT `products`.`id`, `products`.`name` FROM `products`"
        " WHERE `products`.`category` = 'tools' ORDER BY `products`.`id` ASC LIMIT 5 OFFSET 5",
        ORDER_BY_OLD,
    ),
    # --- Rails (ActiveRecord)
    Shape(
        "Rails Customer.find(id)",
        "SELECT `customers`.* FROM `customers` WHERE `customers`.`id` = 5 LIMIT 1",
        "SELECT `customers`.* FROM `customers` WHERE `customers`.`id` = 9 LIMIT 1",
        ORDERLESS_LIMIT,
    ),
    Shape(
        "Rails Customer.find_by(email:)",
        "SELECT `customers`.* FROM `customers`"
        " WHERE `customers`.`email` = 'c3@example.com' LIMIT 1",
        "SELECT `customers`.* FROM `customers`"
        " WHERE `customers`.`email` = 'c4@example.com' LIMIT 1",
        ORDERLESS_LIMIT,
    ),
    Shape(
        "Rails Order.where(status: [...])",
        "SELECT `orders`.* FROM `orders` WHERE `orders`.`status` IN ('paid', 'new')",
        "SELECT `orders`.* FROM `orders` WHERE `orders`.`status` IN ('shipped', 'delivered')",
    ),
    Shape(
        "Rails Order.where(customer_id:).exists?",
        "SELECT 1 AS one FROM `orders` WHERE `orders`.`customer_id` = 12 LIMIT 1",
        "SELECT 1 AS one FROM `orders` WHERE `orders`.`customer_id` = 23 LIMIT 1",
        _deep(),
    ),
    Shape(
        "Rails Order.where(status:).count",
        "SELECT COUNT(*) FROM `orders` WHERE `orders`.`status` = 'paid'",
        "SELECT COUNT(*) FROM `orders` WHERE `orders`.`status` = 'new'",
    ),
    Shape(
        "Rails Product.where(category:).first",
        "SELECT `products`.* FROM `products` WHERE `products`.`category` = 'tools'"
        " ORDER BY `products`.`id` ASC LIMIT 1",
        "SELECT `products`.* FROM `products` WHERE `products`.`category` = 'garden'"
        " ORDER BY `products`.`id` ASC LIMIT 1",
        ORDER_BY_OLD,
    ),
    Shape(
        "Rails Product.where('stock < ?', n)",
        "SELECT `products`.* FROM `products` WHERE (stock < 5)",
        "SELECT `products`.* FROM `products` WHERE (stock < 8)",
    ),
    # --- Laravel (Eloquent / query builder)
    Shape(
        "Laravel Customer::find($id)",
        "select * from `customers` where `customers`.`id` = 5 limit 1",
        "select * from `customers` where `customers`.`id` = 11 limit 1",
        ORDERLESS_LIMIT,
    ),
    Shape(
        "Laravel where('email', $e)->first()",
        "select * from `customers` where `email` = 'c9@example.com' limit 1",
        "select * from `customers` where `email` = 'c10@example.com' limit 1",
        ORDERLESS_LIMIT,
    ),
    Shape(
        "Laravel whereBetween('price', [...])",
        "select * from `products` where `price` between 10 and 50",
        "select * from `products` where `price` between 20 and 80",
        _deep(),
    ),
    Shape(
        "Laravel whereIn('id', [...])",
        "select * from `orders` where `id` in (1, 2, 3, 4)",
        "select * from `orders` where `id` in (5, 6, 7, 8)",
    ),
    Shape(
        "Laravel ->paginate(15)",
        "select * from `products` where `category` = 'garden' order by `id` asc limit 15 offset 0",
        "select * from `products` where `category` = 'books' order by `id` asc limit 15 offset 15",
        ORDER_BY_OLD,
    ),
    # --- Hibernate / JPA (Hibernate 6 aliases, literals inlined by the JDBC driver)
    Shape(
        "Hibernate em.find(Customer.class, id)",
        "select c1_0.id,c1_0.name,c1_0.email from customers c1_0 where c1_0.id=5",
        "select c1_0.id,c1_0.name,c1_0.email from customers c1_0 where c1_0.id=6",
    ),
    Shape(
        "Hibernate JPQL order by … setMaxResults",
        "select p1_0.id,p1_0.name from products p1_0 where p1_0.category='books'"
        " order by p1_0.price desc limit 5",
        "select p1_0.id,p1_0.name from products p1_0 where p1_0.category='kitchen'"
        " order by p1_0.price desc limit 5",
        ORDER_BY_OLD,
    ),
    Shape(
        "Hibernate criteria equal + greaterThanOrEqualTo",
        "select o1_0.id,o1_0.total from orders o1_0 where o1_0.customer_id=12"
        " and o1_0.created_at>='2024-02-03 00:00:00'",
        "select o1_0.id,o1_0.total from orders o1_0 where o1_0.customer_id=56"
        " and o1_0.created_at>='2024-02-01 00:00:00'",
        _deep(),
    ),
    Shape(
        "Hibernate JPQL count",
        "select count(o1_0.id) from orders o1_0 where o1_0.status='shipped'",
        "select count(o1_0.id) from orders o1_0 where o1_0.status='paid'",
    ),
    # --- SQLAlchemy 2 (Core/ORM, literal binds as the MySQL text protocol sends them)
    Shape(
        "SQLAlchemy session.get(Customer, id)",
        "SELECT customers.id AS customers_id, customers.name AS customers_name FROM customers"
        " WHERE customers.id = 5",
        "SELECT customers.id AS customers_id, customers.name AS customers_name FROM customers"
        " WHERE customers.id = 7",
    ),
    Shape(
        "SQLAlchemy select(Product).where(Product.price < x)",
        "SELECT products.id, products.name, products.price FROM products WHERE products.price < 20",
        "SELECT products.id, products.name, products.price FROM products WHERE products.price < 30",
    ),
    Shape(
        "SQLAlchemy .where(category == …).limit(5)",
        "SELECT products.id, products.name FROM products WHERE products.category = 'kitchen'"
        " LIMIT 5",
        "SELECT products.id, products.name FROM products WHERE products.category = 'books' LIMIT 5",
        ORDERLESS_LIMIT,
    ),
    Shape(
        "SQLAlchemy .where(Order.id.in_([...]))",
        "SELECT orders.id, orders.total FROM orders WHERE orders.id IN (10, 20, 30)",
        "SELECT orders.id, orders.total FROM orders WHERE orders.id IN (11, 21, 31)",
    ),
    Shape(
        "SQLAlchemy .where(Customer.email.like(…))",
        "SELECT customers.id FROM customers WHERE customers.email LIKE 'c1%'",
        "SELECT customers.id FROM customers WHERE customers.email LIKE 'c2%'",
        _deep(),
    ),
    # --- WordPress ($wpdb, WP_Query)
    Shape(
        "WordPress $wpdb->get_row(… LIMIT 1)",
        "SELECT * FROM customers WHERE id = 5 LIMIT 1",
        "SELECT * FROM customers WHERE id = 6 LIMIT 1",
        ORDERLESS_LIMIT,
    ),
    Shape(
        "WordPress WP_Query (1=1 AND …)",
        "SELECT orders.id FROM orders WHERE 1=1 AND orders.status = 'paid'"
        " ORDER BY orders.created_at DESC LIMIT 0, 10",
        "SELECT orders.id FROM orders WHERE 1=1 AND orders.status = 'new'"
        " ORDER BY orders.created_at DESC LIMIT 0, 10",
        _deep(),
    ),
    Shape(
        "WordPress $wpdb->get_var(COUNT)",
        "SELECT COUNT(*) FROM orders WHERE status = 'new'",
        "SELECT COUNT(*) FROM orders WHERE status = 'shipped'",
    ),
    # --- reporting tools (Metabase-style ordinals)
    Shape(
        "report: GROUP BY 1",
        "SELECT category, COUNT(*) FROM products WHERE stock > 0 GROUP BY 1",
        "SELECT category, COUNT(*) FROM products WHERE stock > 1 GROUP BY 1",
        _deep(),
    ),
]
