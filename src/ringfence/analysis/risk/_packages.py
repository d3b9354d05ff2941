"""Package names: the popular ones per registry, names reported as malicious, and look-alikes.

Imported only when a command installs or runs a named package (``pip install``, ``npm
install``, ``yarn add``, ``npx``...), so the tables cost nothing otherwise.

``POPULAR`` holds about 150 of the most downloaded packages of PyPI and of npm (public
download rankings, rounded out with the tools developers install every day). A name that
is not on the list but lies one edit (for names of five to seven letters) or two edits
(eight letters or more) from a popular name, counting a swap of two neighbouring letters
as one edit, is a likely typo-squat: ``reqeusts``, ``electorn``, ``pandsa``. Shorter
names are never compared: too many honest names sit one letter from ``six`` or ``vue``.

``MALICIOUS`` holds names taken down after being reported as malicious (typo-squats and
look-alikes from public advisories: the 2017 npm ``crossenv`` set, the 2017 PyPI set
(``urlib3``, ``setup-tools``...), ``colourama``, ``python3-dateutil`` and ``jeIlyfish`` in
2019, ``noblesse`` in 2021). They are matched exactly,
before normalising case, so ``jeIlyfish`` (capital i) is not taken for ``jellyfish``.
"""

from __future__ import annotations

_PYPI = """
boto3 botocore urllib3 requests setuptools certifi charset-normalizer idna typing-extensions
python-dateutil s3transfer packaging aiobotocore six numpy pyyaml s3fs fsspec pip cryptography
google-api-core cffi pycparser pandas importlib-metadata protobuf attrs rsa pyasn1 jmespath
zipp wheel click platformdirs pydantic pydantic-core jinja2 markupsafe pytz awscli colorama
filelock cachetools google-auth virtualenv pyjwt tomli annotated-types wrapt pluggy pytest
sqlalchemy psutil requests-oauthlib oauthlib iniconfig greenlet aiohttp multidict yarl
frozenlist aiosignal async-timeout docutils pyparsing scipy soupsieve beautifulsoup4 tzdata
openpyxl pillow exceptiongroup httpx httpcore anyio sniffio h11 isodate lxml grpcio decorator
pygments tqdm werkzeug flask itsdangerous blinker tomlkit distlib more-itertools rich
markdown-it-py mdurl coverage pytest-cov black mypy-extensions pathspec mypy ruff isort flake8
pycodestyle pyflakes mccabe pylint astroid django djangorestframework fastapi starlette uvicorn
gunicorn redis celery kombu matplotlib seaborn scikit-learn joblib threadpoolctl torch
torchvision tensorflow keras transformers tokenizers huggingface-hub safetensors regex
networkx sympy mpmath openai anthropic langchain tiktoken jsonschema referencing rpds-py
pyarrow polars pymysql psycopg2 psycopg2-binary psycopg pymongo paramiko bcrypt pynacl docker
kubernetes google-cloud-storage azure-core msal selenium playwright httplib2 simplejson ujson
orjson marshmallow alembic sqlparse tabulate termcolor toml tox nox pre-commit poetry pipenv
twine build hatchling setuptools-scm sphinx mkdocs nltk spacy opencv-python xgboost lightgbm
statsmodels plotly dash streamlit gradio pyinstaller pexpect jupyter notebook ipython
ipykernel jedi parso traitlets tornado pyzmq jellyfish prompt-toolkit wcwidth dnspython
email-validator python-dotenv python-multipart pyopenssl websocket-client websockets gevent
arrow pendulum babel faker hypothesis mock responses freezegun pytest-mock pytest-xdist
pytest-asyncio moto sentry-sdk structlog loguru typer pyserial xlrd xlsxwriter scapy numba
pyspark dask xarray h5py netcdf4 shapely pyproj geopandas boto
google-cloud-bigquery pymssql cx-oracle oracledb snowflake-connector-python databricks-sdk
pycryptodome pycrypto passlib argon2-cffi itsdangerous humanize jsonpickle dill cloudpickle
msgpack cython pybind11 nose pytest-django pytest-timeout pytest-benchmark pytest-randomly
types-requests types-pyyaml types-setuptools uv pipx pdm hatch flit maturin setuptools-rust
"""

_NPM = """
lodash react react-dom chalk tslib commander express axios debug moment request vue typescript
prop-types uuid fs-extra async bluebird semver glob yargs webpack underscore classnames
body-parser dotenv rxjs jquery minimist mkdirp inquirer colors core-js eslint prettier jest
mocha chai sinon next cross-env rimraf ora node-fetch ws socket.io redux react-redux
react-router react-router-dom styled-components graphql mongoose mysql mysql2 pg sequelize knex
redis ioredis jsonwebtoken bcrypt bcryptjs passport cors helmet morgan cookie-parser multer
nodemon concurrently webpack-cli webpack-dev-server babel-loader css-loader style-loader sass
node-sass less postcss autoprefixer tailwindcss vite rollup esbuild parcel electron angular
svelte preact vuex vue-router nuxt gatsby date-fns dayjs luxon ramda immutable zod yup joi ajv
handlebars ejs pug marked cheerio puppeteer playwright jsdom sharp canvas nodemailer aws-sdk
firebase stripe twilio openai lint-staged husky ts-node tsx react-scripts zustand swr formik
antd bootstrap three d3 chart.js socket.io-client http-proxy http-proxy-middleware qs
path-to-regexp mime mime-types iconv-lite string-width strip-ansi ansi-regex supports-color
escape-string-regexp yaml js-yaml xml2js lru-cache node-gyp execa got superagent form-data
formidable busboy validator crypto-js shelljs cross-spawn chokidar jsonfile graceful-fs
source-map esprima acorn config winston pino bunyan log4js npm yarn pnpm grunt gulp browserify
karma jasmine cypress vitest supertest nock electron-builder react-native expo clsx turbo
nx lerna typeorm prisma drizzle-orm knex mongodb apollo-server graphql-tag
react-hook-form immer nanoid lit ember-cli backbone request-promise node-cron dotenv-expand
tsup swc babel-core jest-cli ts-jest eslint-plugin-react eslint-config-prettier vue-loader
"""

# Names taken down after being reported as malicious (see the module docstring).
_MALICIOUS_NPM = """
crossenv cross-env.js d3.js fabric-js ffmepg gruntcli http-proxy.js jquery.js mongose
mssql-node mssql.js mysqljs node-fabric node-opencv node-opensl node-openssl node-sqlite
node-tkinter nodecaffe nodefabric nodeffmpeg nodemailer-js nodemailer.js nodemssql noderequest
nodesass nodesqlite opencv.js openssl.js proxy.js shadowsock sqlite.js sqliter babelcli
"""
_MALICIOUS_PYPI = """
python3-dateutil jeIlyfish colourama acqusition apidev-coop bzip crypt django-server pwd
setup-tools telnet urlib3 urllib noblesse noblesse2 pytagora
"""

# Widely used names (among the 5,000 most downloaded of their registry) that happen to lie
# one or two letters from a popular name: not typo-squats.
_COMMON_NEIGHBOURS_PYPI = """
authlib azureml-core biopython cattrs dydantic encutils frozendict gitpython google-reauth
gsutil hjson httpr ijson installer jupytext jwcrypto match nbsphinx niquests ormsgpack oscrypto
pandasql parse parsy psycopg-binary ptpython pyaml pycryptodomex pyfakefs pyopengl pyshark
pytest-env pytest-timeouts pytzdata scrapy segments spython tensorflowjs tokenize-rt unicorn
usort willow x-transformers
"""
_COMMON_NEIGHBOURS_NPM = """
aws-cdk color colord commondir crypt dargs enquirer gaxios jsdoc less-loader mquery mssql
rambda react-dnd sass-loader scrypt-js stylus-loader ts-loader tsconfig tslint xml-js
"""

_TABLES = {
    "pypi": (_PYPI, _MALICIOUS_PYPI, _COMMON_NEIGHBOURS_PYPI),
    "npm": (_NPM, _MALICIOUS_NPM, _COMMON_NEIGHBOURS_NPM),
}
_cache: dict[str, tuple[tuple[str, ...], frozenset[str], frozenset[str], frozenset[str]]] = {}


def _tables(registry: str) -> tuple[tuple[str, ...], frozenset[str], frozenset[str], frozenset[str]]:
    """(popular in order, popular, malicious, common neighbours) of ``pypi`` or ``npm``;
    popular and common neighbours normalised, malicious as published."""
    found = _cache.get(registry)
    if found is None:
        popular, malicious, neighbours = _TABLES[registry]
        names = frozenset(normalise(w, registry) for w in popular.split())
        found = _cache[registry] = (
            tuple(sorted(names)),
            names,
            frozenset(malicious.split()),
            frozenset(normalise(w, registry) for w in neighbours.split()),
        )
    return found


def normalise(name: str, registry: str) -> str:
    """PyPI compares names case-blind, with ``-``, ``_`` and ``.`` alike; npm names are lower case."""
    name = name.lower()
    return name.replace("_", "-").replace(".", "-") if registry == "pypi" else name


def lookalike(name: str, registry: str) -> str | None:
    """Why ``name`` (a package of ``pypi`` or ``npm``) looks like a trap ("a name reported
    as malicious", "one letter away from the popular requests: ..."), or None."""
    ordered, popular, malicious, neighbours = _tables(registry)
    if name in malicious:
        return "a name reported as malicious"
    norm = normalise(name, registry)
    if norm in malicious:
        return "a name reported as malicious"
    if len(norm) < 5 or norm in popular or norm in neighbours:
        return None
    limit = 2 if len(norm) >= 8 else 1
    letters = set(norm)
    for known in ordered:
        # one edit changes the set of letters by at most two: a cheap test before the real one
        if abs(len(known) - len(norm)) > limit or len(known) < 5 or len(letters ^ set(known)) > 2 * limit:
            continue
        distance = _distance(norm, known, limit)
        if distance <= limit:
            letters_off = "one letter" if distance == 1 else "two letters"
            return f"{letters_off} away from the popular {known}, a likely typo-squat"
    return None


def _distance(a: str, b: str, limit: int) -> int:
    """Edit distance counting a swap of neighbouring letters as one edit (optimal string
    alignment); anything above ``limit`` is reported as ``limit + 1``."""
    if a == b:
        return 0
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[len(b)], limit + 1)
