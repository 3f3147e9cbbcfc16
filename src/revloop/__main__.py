from revloop.cli.main import run

run()
