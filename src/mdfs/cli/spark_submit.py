"""`mdfs` as a file spark-submit can run (it needs a .py path, not a console script).

    spark-submit --master yarn --deploy-mode cluster \
        --conf spark.pyspark.python=/path/to/env/bin/python \
        "$(python -c 'import mdfs.cli.spark_submit as m; print(m.__file__)')" \
        run INPUT... --output DIR --engine spark

Under spark-submit, spark-submit's --master and --conf settings are the application's;
`mdfs --master` only overrides them when given explicitly.
"""

import sys

from mdfs.cli import main

if __name__ == "__main__":
    sys.exit(main())
