from readyset_proxysql_scheduler.cli import main

raise SystemExit(main())
