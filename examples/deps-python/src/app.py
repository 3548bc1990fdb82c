import mvmdemo


def shout(text: str) -> str:
    return mvmdemo.shout(text)
